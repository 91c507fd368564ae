/* The model's hyperparameters, parsed from the file's "dir7.config" JSON. */
#ifndef DIR7_CONFIG_H
#define DIR7_CONFIG_H

#include <glib.h>

#define D7_MAX_LEVELS 8

typedef enum { D7_CROSS_PAPER, D7_CROSS_STATE } D7CrossMode;

/* What the U-Net outputs: the noise (the contract's epsilon), or
 * v = sqrt(ab) eps - sqrt(1 - ab) x0 (docs/model.md says why). */
typedef enum { D7_PREDICT_EPSILON, D7_PREDICT_V } D7Prediction;

typedef struct { int w, a, v, g; } D7LoraRanks;

typedef struct {
  int    image_size, head_size;
  double layer_norm_eps;
  struct {
    int vocab_size, dim, layers, max_len;
    D7LoraRanks lora;
  } text;
  struct {
    int image_channels, base_channels, n_levels, num_res_blocks;
    int channel_mult[D7_MAX_LEVELS];
    gboolean dir7_levels[D7_MAX_LEVELS], mid_dir7;
    gboolean text_embed;        /* the prompt's last-token feature joins the time embedding */
    int norm_groups, time_dim;
    double norm_eps;
    D7CrossMode cross_mode;
    D7LoraRanks lora;
  } unet;
  struct {
    int timesteps;
    double beta_start, beta_end;
    D7Prediction prediction;
  } diffusion;
} D7Config;

/* Parses and bounds-checks every field; a DIR7_ERROR_MODEL_INVALID error
 * names the bad field. */
gboolean d7_config_parse (const char *json, D7Config *cfg, GError **error);

#endif
