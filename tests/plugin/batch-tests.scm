; Script-Fu (v3 dialect) tests of the DIR-7 plug-in, run by tests/plugin/run.sh
; in gimp-console-3.0 batch mode. The caller defines dir7-model (the tiny test
; model) and dir7-corrupt (a truncated copy of it) before loading this file.
; Every check prints "PASS: ..." or "FAIL: ..."; any failure ends in (error),
; so gimp-console exits non-zero.

(script-fu-use-v3)

(define failures 0)
(define (check name ok)
  (display (if ok "PASS: " "FAIL: ")) (display name) (newline)
  (if (not ok) (set! failures (+ failures 1))))

; (try thunk) -> ("ok" . result) or ("error" . message), keeping the message
(define (try thunk)
  (call/cc
    (lambda (k)
      (let ((old *error-hook*))
        (set! *error-hook*
              (lambda xs
                (set! *error-hook* old)
                (k (cons "error" (if (and (pair? xs) (string? (car xs))) (car xs) "?")))))
        (let ((r (thunk)))
          (set! *error-hook* old)
          (cons "ok" r))))))

(define (string-contains? s sub)
  (let ((n (string-length s)) (m (string-length sub)))
    (let loop ((i 0))
      (cond ((> (+ i m) n) #f)
            ((string=? (substring s i (+ i m)) sub) #t)
            (else (loop (+ i 1)))))))

; every pixel of a drawable, row by row, as a list of component lists
(define (pixels d)
  (let ((w (gimp-drawable-get-width d)) (h (gimp-drawable-get-height d)))
    (let yl ((y 0) (acc '()))
      (if (= y h) (reverse acc)
          (yl (+ y 1)
              (let xl ((x 0) (acc acc))
                (if (= x w) acc
                    (xl (+ x 1) (cons (gimp-drawable-get-pixel d x y) acc)))))))))

(define (count-distinct-from l p)          ; how many entries differ from p
  (let loop ((l l) (n 0))
    (if (null? l) n (loop (cdr l) (if (equal? (car l) p) n (+ n 1))))))

; a pixel without its alpha, and its alpha (255 when there is none)
(define (rgb p) (list (car p) (cadr p) (caddr p)))
(define (alpha p) (if (= (length p) 4) (cadddr p) 255))
(define (same-pixel? a b) (and (equal? (rgb a) (rgb b)) (= (alpha a) (alpha b))))

(define (count-differences a b)
  (let loop ((a a) (b b) (n 0))
    (if (null? a) n (loop (cdr a) (cdr b) (if (same-pixel? (car a) (car b)) n (+ n 1))))))

(define (layer-count img) (vector-length (gimp-image-get-layers img)))

; an image with one opaque layer: white with a red square
(define (make-image w h)
  (let* ((img (gimp-image-new w h RGB))
         (bg (gimp-layer-new img "base" w h RGB-IMAGE 100 LAYER-MODE-NORMAL)))
    (gimp-image-insert-layer img bg 0 0)
    (gimp-context-set-foreground '(200 30 30))
    (gimp-context-set-background '(255 255 255))
    (gimp-drawable-fill bg FILL-BACKGROUND)
    (gimp-image-select-rectangle img CHANNEL-OP-REPLACE (quotient w 4) (quotient h 4)
                                 (quotient w 2) (quotient h 2))
    (gimp-drawable-edit-fill bg FILL-FOREGROUND)
    (gimp-selection-none img)
    (list img bg)))

(define (generate img . extra)
  (apply plug-in-dir7-generate
         (append (list #:run-mode RUN-NONINTERACTIVE #:image img
                       #:prompt "a red apple" #:steps 4 #:model dir7-model)
                 extra)))

; ---- (1) generate: size, position, alpha, not blank, repeatable --------------
(let* ((ib (make-image 40 30)) (img (car ib)) (bg (cadr ib))
       (bg-before (pixels bg)))
  (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 10 6 24 20)
  (let* ((r (generate img #:drawables (vector bg) #:seed 42))
         (l (vector-ref (car r) 0))
         (px (pixels l)))
    (check "generate: returns the seed used" (= (cadr r) 42))
    (check "generate: one new layer" (= (layer-count img) 2))
    (check "generate: layer sized to the selection bounds (24x20)"
           (and (= (gimp-drawable-get-width l) 24) (= (gimp-drawable-get-height l) 20)))
    (check "generate: layer at the selection (10,6)" (equal? (gimp-drawable-get-offsets l) '(10 6)))
    (check "generate: layer has an alpha channel" (gimp-drawable-has-alpha l))
    (check "generate: new layer is on top" (= (gimp-image-get-item-position img l) 0))
    (check "generate: layer named from the prompt"
           (string-contains? (gimp-item-get-name l) "a red apple"))
    (check "generate: not blank (>= 100 of 480 pixels differ from the first)"
           (>= (count-distinct-from px (car px)) 100))
    (check "generate: not fully transparent"
           (> (count-distinct-from (map cadddr px) 0) 0))
    (check "generate: the existing layer is unchanged" (equal? (pixels bg) bg-before))
    ; same seed, same pixels
    (let ((l2 (vector-ref (car (generate img #:drawables (vector bg) #:seed 42)) 0)))
      (check "generate: the same seed gives the same pixels" (equal? (pixels l2) px)))
    (let ((l3 (vector-ref (car (generate img #:drawables (vector bg) #:seed 43)) 0)))
      (check "generate: another seed gives other pixels" (not (equal? (pixels l3) px))))))

; sizes the model does not support: 100x80 runs at <= 64 px and is scaled
(let* ((img (car (make-image 100 80))))
  (let* ((r (generate img #:seed 1 #:batch-count 2))
         (ls (car r)))
    (check "generate (scaled): batch count 2 gives 2 layers" (= (vector-length ls) 2))
    (check "generate (scaled): layer is the image size 100x80"
           (and (= (gimp-drawable-get-width (vector-ref ls 0)) 100)
                (= (gimp-drawable-get-height (vector-ref ls 0)) 80)))
    (check "generate (scaled): seeds 1 and 2 in the names"
           (and (string-contains? (gimp-item-get-name (vector-ref ls 0)) "seed 1")
                (string-contains? (gimp-item-get-name (vector-ref ls 1)) "seed 2")))))

(let* ((img (car (make-image 40 40)))
       (l (vector-ref (car (generate img #:seed 5 #:width 30 #:height 18)) 0)))
  (check "generate: explicit width/height 30x18"
         (and (= (gimp-drawable-get-width l) 30) (= (gimp-drawable-get-height l) 18))))

; ---- (2) img2img: the original stays byte-identical, the new layer differs ----
(let* ((ib (make-image 32 32)) (img (car ib)) (bg (cadr ib))
       (before (pixels bg)))
  (let* ((r (plug-in-dir7-img2img #:run-mode RUN-NONINTERACTIVE #:image img
                                  #:drawables (vector bg) #:prompt "a red apple"
                                  #:steps 8 #:strength 0.6 #:seed 7 #:model dir7-model))
         (l (vector-ref (car r) 0)))
    (check "img2img: original layer byte-identical" (equal? (pixels bg) before))
    (check "img2img: one new layer" (= (layer-count img) 2))
    (check "img2img: new layer directly above the original"
           (= (gimp-image-get-item-position img l) (- (gimp-image-get-item-position img bg) 1)))
    (check "img2img: same size and place as the original"
           (and (= (gimp-drawable-get-width l) 32) (= (gimp-drawable-get-height l) 32)
                (equal? (gimp-drawable-get-offsets l) '(0 0))))
    (check "img2img: new layer differs from the original"
           (> (count-differences (pixels l) before) 100))))

; ---- (3) inpaint: outside the selection nothing changes ----------------------
(let* ((ib (make-image 32 32)) (img (car ib)) (bg (cadr ib))
       (before (pixels bg)))
  (gimp-context-set-antialias #f)
  (gimp-image-select-ellipse img CHANNEL-OP-REPLACE 6 4 20 22)
  (let* ((r (plug-in-dir7-inpaint #:run-mode RUN-NONINTERACTIVE #:image img
                                  #:drawables (vector bg) #:prompt "a green leaf"
                                  #:steps 6 #:seed 3 #:model dir7-model))
         (l (vector-ref (car r) 0))
         (ox (car (gimp-drawable-get-offsets l)))
         (oy (cadr (gimp-drawable-get-offsets l)))
         (w (gimp-drawable-get-width l)) (h (gimp-drawable-get-height l))
         (outside-same 0) (outside-diff 0) (inside-diff 0))
    (check "inpaint: layer covers the selection bounds (6,4 20x22)"
           (and (= ox 6) (= oy 4) (= w 20) (= h 22)))
    (do ((y 0 (+ y 1))) ((= y h))
      (do ((x 0 (+ x 1))) ((= x w))
        (let ((same (same-pixel? (gimp-drawable-get-pixel l x y)
                                 (gimp-drawable-get-pixel bg (+ x ox) (+ y oy)))))
          (if (= (gimp-selection-value img (+ x ox) (+ y oy)) 0)
              (if same (set! outside-same (+ outside-same 1)) (set! outside-diff (+ outside-diff 1)))
              (if (not same) (set! inside-diff (+ inside-diff 1)))))))
    (display (list "inpaint outside same/diff, inside diff:" outside-same outside-diff inside-diff))
    (newline)
    (check "inpaint: pixels outside the selection unchanged in the new layer"
           (and (> outside-same 0) (= outside-diff 0)))
    (check "inpaint: pixels inside the selection regenerated" (> inside-diff 50))
    (check "inpaint: original layer byte-identical" (equal? (pixels bg) before))))

(let* ((ib (make-image 16 16)) (img (car ib)) (bg (cadr ib)))
  (let ((res (try (lambda () (plug-in-dir7-inpaint #:run-mode RUN-NONINTERACTIVE #:image img
                                                   #:drawables (vector bg) #:model dir7-model)))))
    (display res) (newline)
    (check "inpaint without a selection: an error saying to select"
           (and (equal? (car res) "error") (string-contains? (cdr res) "select")))
    (check "inpaint without a selection: image unchanged" (= (layer-count img) 1))))

; ---- (4) bad model files: a clear error, the image untouched ------------------
(let* ((ib (make-image 24 24)) (img (car ib)) (bg (cadr ib)) (before (pixels bg)))
  (let ((res (try (lambda () (generate img #:drawables (vector bg) #:seed 1
                                       #:model "/nonexistent/dir7-model.safetensors")))))
    (display res) (newline)
    (check "missing model: the call fails" (equal? (car res) "error"))
    (check "missing model: the message names the problem"
           (and (string? (cdr res)) (string-contains? (cdr res) "no model file")))
    (check "missing model: layer count unchanged" (= (layer-count img) 1)))
  (let ((res (try (lambda () (plug-in-dir7-img2img #:run-mode RUN-NONINTERACTIVE #:image img
                                                   #:drawables (vector bg) #:model dir7-corrupt)))))
    (display res) (newline)
    (check "corrupt model: the call fails" (equal? (car res) "error"))
    (check "corrupt model: the message says it is not a usable model"
           (and (string? (cdr res)) (string-contains? (cdr res) "not a usable DIR-7 model")))
    (check "corrupt model: layer count unchanged" (= (layer-count img) 1)))
  (let ((res (try (lambda () (generate img #:seed 1 #:device "no-such-device")))))
    (display res) (newline)
    (check "unknown device: a clear error" (and (equal? (car res) "error")
                                                (string-contains? (cdr res) "device")))
    (check "unknown device: layer count unchanged" (= (layer-count img) 1)))
  (check "after the errors the layer is byte-identical" (equal? (pixels bg) before)))

; ---- undo, honestly: the batch PDB has no "undo" ------------------------------
; Only the GUI can undo (tests/plugin/gui-tests.sh presses Ctrl+Z). Here: the
; plug-in leaves the image's undo enabled and closes its undo group, so a
; script's own group around it still works.
(let* ((img (car (make-image 16 16))))
  (check "undo is enabled on the test image" (gimp-image-undo-is-enabled img))
  (gimp-image-undo-group-start img)
  (generate img #:seed 2)
  (check "a script's undo group around the plug-in closes cleanly"
         (gimp-image-undo-group-end img))
  (check "undo still enabled after the plug-in" (gimp-image-undo-is-enabled img)))

(display "failures: ") (display failures) (newline)
(if (> failures 0) (error "DIR-7 plug-in batch tests failed:" failures))
(display "ALL BATCH TESTS PASSED") (newline)
