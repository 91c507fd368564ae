; Script-Fu (v3) smoke test of an installed DIR-7 plug-in, run by smoke.sh in
; gimp-console-3.0: generate without a model argument, so the plug-in must
; find the installed default model itself.
(script-fu-use-v3)
(let* ((img (gimp-image-new 16 16 RGB))
       (bg (gimp-layer-new img "base" 16 16 RGB-IMAGE 100 LAYER-MODE-NORMAL)))
  (gimp-image-insert-layer img bg 0 0)
  (let* ((r (plug-in-dir7-generate #:run-mode RUN-NONINTERACTIVE #:image img
                                   #:drawables (vector bg) #:prompt "a red apple"
                                   #:steps 2 #:seed 7))
         (layers (gimp-image-get-layers img)))
    (display (if (and (= (vector-length layers) 2) (= (cadr r) 7)) "PASS: " "FAIL: "))
    (display "generate with the installed default model adds a layer") (newline)
    (display (if (= (gimp-drawable-get-width (vector-ref layers 0)) 16) "PASS: " "FAIL: "))
    (display "the new layer is 16 px wide") (newline)))
(display "DIR7 SMOKE DONE") (newline)
