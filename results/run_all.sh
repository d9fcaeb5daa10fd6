#!/usr/bin/env bash
# Reproduces everything under results/ (2-core CPU: about 7 hours). Re-running skips finished
# runs. Training uses the 10,000 CIFAR-10 training images (500 held out for validation);
# all reported numbers come from real files of the 5,000 test images.
set -euo pipefail
cd "$(dirname "$0")/.."
J4D=${J4D:-.venv/bin/j4d}
PYTHON=${PYTHON:-.venv/bin/python}
DATA=${J4D_DATA:-../shared/data}
# Steps 1-10 train on cross-entropy (the default before distillation, steps 11-13).
COMMON=(--epochs 5 --batch-size 128 --lr 1.5 --lr-schedule constant --task-loss cross_entropy
    --val-size 500 -q)

# 1. The first CIFAR-10 / ResNet-20 frontier (cross-entropy, constant lr 1.5; hardness-matched
#    alpha, h = 10: the default).
$J4D sweep --model resnet20 --init qf:20 --init qf:70 --lams 0.03,0.1,0.3,1,3,10 \
    "${COMMON[@]}" -o results/cifar10-resnet20-ce

# 2. The paper's fixed alpha = 100, same settings otherwise (alpha comparison).
$J4D sweep --model resnet20 --init qf:20 --init qf:70 --lams 0.1,1 --softness fixed \
    "${COMMON[@]}" -o results/cifar10-resnet20-fixed-alpha

# 3. Universal tables for ResNet-20 + ShuffleNetV2 at two rates (cross-entropy; step 15 redoes
#    them with distillation).
$J4D sweep --model resnet20 --model cifar_shufflenetv2_x0_5 --init qf:50 --lams 0.3,3 \
    "${COMMON[@]}" -o results/cifar10-universal-ce

# (Steps 4-6, on the ResNet-20 frontier, follow step 11, which makes it.)

# 7. Rate estimate vs real files: 100 ImageNet samples (224x224), default tables, QF 1..100.
$J4D rate-check -q -o results/rate-check-imagenet

# 8. The same frontier grid trained with a cosine learning-rate decay, plus the two ends of
#    the curve (qf:90 lambda 0.01, qf:5 lambda 30), all measured together against the codecs.
COSINE=(--epochs 5 --batch-size 128 --lr 1.5 --lr-schedule cosine --task-loss cross_entropy
    --val-size 500 -q)
$J4D sweep --model resnet20 --init qf:20 --init qf:70 --lams 0.03,0.1,0.3,1,3,10 \
    "${COSINE[@]}" -o results/cifar10-resnet20-cosine
$J4D sweep --model resnet20 --init qf:90 --lams 0.01 "${COSINE[@]}" \
    -o results/cifar10-resnet20-cosine-ends/high
$J4D sweep --model resnet20 --init qf:5 --lams 30 "${COSINE[@]}" \
    -o results/cifar10-resnet20-cosine-ends/low
$J4D eval results/cifar10-resnet20-cosine/runs/*/tables.json \
    results/cifar10-resnet20-cosine-ends/*/runs/*/tables.json --model resnet20 \
    -c mozjpeg -c jpegli -j 2 -q -o results/cifar10-resnet20-cosine-all

# 9. Cosine decay from lr 3 (the defaults since), one init, six lambdas.
LR3=(--epochs 5 --batch-size 128 --lr 3 --lr-schedule cosine --val-size 500 -q)
$J4D sweep --model resnet20 --init qf:50 --lams 0.03,0.1,0.3,1,3,10 "${LR3[@]}" \
    --task-loss cross_entropy -o results/cifar10-resnet20-cosine-lr3

# 10. The high end with cross-entropy: high-rate inits (qf:90, qf:95, sensitivity) x small lambdas.
$J4D sweep --model resnet20 --init qf:90 --init qf:95 --init sensitivity:4 \
    --lams 0.003,0.01,0.03 "${LR3[@]}" --task-loss cross_entropy -o results/cifar10-resnet20-high

# 11. The CIFAR-10 / ResNet-20 frontier: distillation from the model's output on the original
#     at T = 10 (the defaults since).
$J4D sweep --model resnet20 --init qf:50 --lams 0.3,1,3,10,30,100 "${LR3[@]}" \
    --task-loss distillation --temperature 10 --accuracies 0.8,0.85,0.88,0.9,0.91 \
    -o results/cifar10-resnet20

# 4. The ResNet-20 frontier tables on ResNet-56 (transfer).
$J4D eval results/cifar10-resnet20/frontier/*.json --model resnet56 --label "resnet20 tables" \
    -q -o results/cifar10-transfer-resnet56

# 5. Probabilistic encoding (indices sampled with the training alpha) of the frontier tables.
$J4D eval results/cifar10-resnet20/frontier/*.json --model resnet20 --probabilistic \
    --hardness 10 --seed 0 --label "j4d probabilistic" -q -o results/cifar10-resnet20-probabilistic

# 6. The ResNet-20 frontier tables against default JPEG, mozjpeg and jpegli (issue 4).
$J4D eval results/cifar10-resnet20/frontier/*.json --model resnet20 -c mozjpeg -c jpegli -j 2 \
    -q -o results/cifar10-codecs

# 12. Distillation at T = 4, and single-lambda variants (T = 1, T = 30, random crops, 10 epochs).
$J4D sweep --model resnet20 --init qf:50 --lams 0.03,0.1,0.3,1,3,10,30,100 "${LR3[@]}" \
    --task-loss distillation --temperature 4 -o results/cifar10-resnet20-distill-t4
VARIANTS=results/cifar10-resnet20-distill-variants
$J4D sweep --model resnet20 --init qf:50 --lams 0.3,1 "${LR3[@]}" --task-loss distillation \
    --temperature 1 -o $VARIANTS/t1
$J4D sweep --model resnet20 --init qf:50 --lams 0.3,1 "${LR3[@]}" --task-loss distillation \
    --temperature 4 --crop-padding 4 -o $VARIANTS/t4-crop4
$J4D sweep --model resnet20 --init qf:50 --lams 3,10 "${LR3[@]}" --task-loss distillation \
    --temperature 30 -o $VARIANTS/t30
$J4D sweep --model resnet20 --init qf:50 --lams 3,10 --epochs 10 --batch-size 128 --lr 3 \
    --lr-schedule cosine --val-size 500 -q --task-loss distillation --temperature 10 \
    -o $VARIANTS/t10-e10
$J4D sweep --model resnet20 --init qf:20 --init qf:10 --lams 10,30,100 "${LR3[@]}" \
    --task-loss distillation --temperature 10 -o $VARIANTS/low-inits

# 13. Every run of steps 9-12 (11: results/cifar10-resnet20) measured together (their joint
#     frontier) against the codecs.
$J4D eval results/cifar10-resnet20-cosine-lr3/runs/*/tables.json \
    results/cifar10-resnet20-high/runs/*/tables.json \
    results/cifar10-resnet20/runs/*/tables.json \
    results/cifar10-resnet20-distill-t4/runs/*/tables.json \
    $VARIANTS/*/runs/*/tables.json --model resnet20 -c mozjpeg -c jpegli -j 2 \
    --accuracies 0.8,0.85,0.88,0.9,0.91 -q -o results/cifar10-resnet20-all

# 14. The frontier learned from unlabeled images the model never saw (random crops of the 334
#     ImageNet samples and Kodak-24; the CIFAR-10 training images give only the validation slice).
$J4D sweep --model resnet20 --init qf:50 --lams 0.3,1,3,10,30,100 "${LR3[@]}" \
    --task-loss distillation --temperature 10 --unlabeled ../shared/data/imagenet-samples \
    --unlabeled ../shared/data/kodak24 -o results/cifar10-resnet20-unlabeled

# 15. Universal tables for ResNet-20 + ShuffleNetV2, with the defaults.
$J4D sweep --model resnet20 --model cifar_shufflenetv2_x0_5 --init qf:50 --lams 1,3,10,30,100 \
    "${LR3[@]}" --task-loss distillation --temperature 10 -o results/cifar10-universal

# 16. The defaults with the straight-through quantizer (rounding forward, soft gradient backward).
$J4D sweep --model resnet20 --init qf:50 --lams 1,3,10,30,100,300 "${LR3[@]}" \
    --task-loss distillation --temperature 10 --quantizer straight_through \
    --accuracies 0.8,0.85,0.88,0.9,0.91 -o results/cifar10-resnet20-straight-through

# 17. Probes behind the issue-3 notes (scripts with their outputs in results/probes/): mozjpeg's
#     trellis quantization on the frontier tables and on default tables, a greedy search on real
#     files from the lambda = 3 tables, and the luma DCT energy of 32x32 CIFAR-10 images against
#     224x224 ImageNet crops. Unlike the sweeps they measure again on every run (about 45 min).
$PYTHON results/probes/trellis.py
$PYTHON results/probes/polish.py
$PYTHON results/probes/spectrum.py

# 18. ImageNet MobileNetV2 at 224x224 (issue 12): distillation from random crops of the 334
#     full-size ImageNet samples and Kodak-24 (the model's defaults), measured on the 1300
#     imagenet-val images (centre crop, no resize). The zoo ships the frontier's tables.
#     About 1 h for the sweep on 2 cores (12 runs of about 3 min, 32 points of about 45 s),
#     about 40 min for the evals and the low-rate runs after it.
MNV2=results/imagenet-mobilenetv2
READ=(--accuracies qf:90,qf:95,qf:100 --rates qf:1,0.5,1,2,3)
TRAIN=(-m mobilenet_v2 --epochs 2 --unlabeled-crops 2048 --batch-size 32)
$J4D sweep "${TRAIN[@]}" --init qf:50 --init sensitivity:5 --lams 0.03,0.3,1,3,10,30 \
    "${READ[@]}" -q -o $MNV2
rm -rf src/j4d/zoo/resnet20 && mkdir -p src/j4d/zoo/resnet20
cp results/cifar10-resnet20/frontier/*.json src/j4d/zoo/resnet20/
# ... against mozjpeg and jpegli (9 qualities each), probabilistic encoding of the qf:50 runs,
#     and transfer both ways (jpeg's points are copied from the sweep's cache: the same key)
for out in imagenet-mobilenetv2-codecs imagenet-mobilenetv2-probabilistic \
    imagenet-transfer-from-resnet20; do
    mkdir -p results/$out/cache && cp $MNV2/cache/jpeg_q*.json results/$out/cache/
done
Q=(--qualities 1,5,10,20,30,50,70,85,90,95,98,100)
$J4D eval $MNV2/frontier/*.json -m mobilenet_v2 -c mozjpeg -c jpegli \
    --qualities 1,5,10,30,50,70,90,95,100 "${READ[@]}" -q -o results/imagenet-mobilenetv2-codecs
$J4D eval $MNV2/frontier/*.json -m resnet20 -q -o results/cifar10-transfer-from-mobilenetv2
$J4D eval results/cifar10-resnet20/frontier/*.json -m mobilenet_v2 "${Q[@]}" "${READ[@]}" \
    -q -o results/imagenet-transfer-from-resnet20
$J4D eval $MNV2/frontier/qf50_*.json -m mobilenet_v2 --probabilistic --hardness 10 "${Q[@]}" \
    "${READ[@]}" -q -o results/imagenet-mobilenetv2-probabilistic
# Low rates from a low-quality init (the paper's recipe for the low end), 6 epochs: 13 min a
# run on 2 cores (the objective stops falling after epoch 2-3).
mkdir -p results/imagenet-mobilenetv2-low/cache
cp $MNV2/cache/jpeg_q*.json results/imagenet-mobilenetv2-low/cache/
$J4D sweep -m mobilenet_v2 --epochs 6 --unlabeled-crops 2048 --batch-size 32 --init qf:10 \
    --lams 3,10,30 "${READ[@]}" -q -o results/imagenet-mobilenetv2-low
# High rates from the sensitivity init with smaller lambdas (QF 95's agreement is above the
# main frontier's best), 4 epochs.
mkdir -p results/imagenet-mobilenetv2-high/cache
cp $MNV2/cache/jpeg_q*.json results/imagenet-mobilenetv2-high/cache/
cp $MNV2/sensitivity.json results/imagenet-mobilenetv2-high/
$J4D sweep -m mobilenet_v2 --epochs 4 --unlabeled-crops 2048 --batch-size 32 \
    --init sensitivity:5 --lams 0.003,0.01 "${READ[@]}" -q -o results/imagenet-mobilenetv2-high
# The joint frontier of the three sweeps, measured together; the zoo ships its tables.
ALL=results/imagenet-mobilenetv2-all
mkdir -p $ALL/cache && cp $MNV2/cache/jpeg_q*.json $ALL/cache/
$J4D eval $MNV2/frontier/*.json results/imagenet-mobilenetv2-{low,high}/frontier/*.json \
    -m mobilenet_v2 "${READ[@]}" -q -o $ALL
rm -rf src/j4d/zoo/mobilenet_v2 && mkdir -p src/j4d/zoo/mobilenet_v2
cp $ALL/frontier/*.json src/j4d/zoo/mobilenet_v2/

# 19. The CamVid DeepLabV3-MobileNetV2 (issue 13): 45 epochs on the 367 training frames at
#     360x480, about an hour on 2 cores; writes src/j4d/models/weights/ and its sha256.
$PYTHON scripts/train_camvid_deeplabv3.py --epochs 45 --work runs/camvid-deeplabv3
cp runs/camvid-deeplabv3/report.json results/camvid-deeplabv3/model_training.json

# 20. CamVid segmentation frontier (issue 13): per-pixel distillation on the 331 training frames
#     (36 held out), batch 8 at 360x480, 2 epochs (about 6 min a run on 2 cores), measured on
#     the 101 val frames; a qf:10 sweep for the low end; the joint front against mozjpeg and
#     jpegli; the Fig. 9 figure.
CV=results/camvid-deeplabv3
CVREAD=(--accuracies qf:90,qf:95,qf:100 --rates 0.3,1,2)
CVTRAIN=(-m camvid_deeplabv3_mobilenet_v2 --epochs 2 --batch-size 8)
$J4D sweep "${CVTRAIN[@]}" --init qf:50 --lams 0.03,0.3,1 "${CVREAD[@]}" -q -o $CV
mkdir -p $CV-low/cache && cp $CV/cache/jpeg_q*.json $CV-low/cache/
$J4D sweep "${CVTRAIN[@]}" --init qf:10 --lams 3,10,30 "${CVREAD[@]}" -q -o $CV-low
# higher rates: smaller lambdas from qf:50
mkdir -p $CV-high/cache && cp $CV/cache/jpeg_q*.json $CV-high/cache/
$J4D sweep "${CVTRAIN[@]}" --init qf:50 --lams 0.003,0.01 "${CVREAD[@]}" -q -o $CV-high
mkdir -p $CV-all/cache && cp $CV/cache/jpeg_q*.json $CV-all/cache/
$J4D eval $CV/frontier/*.json $CV-{low,high}/frontier/*.json -m camvid_deeplabv3_mobilenet_v2 \
    -c mozjpeg -c jpegli --accuracies qf:90,qf:95,qf:100 --rates 0.2,0.27,0.3,1,2 -q -o $CV-all
$J4D compare $DATA/camvid/val/images/0016E5_{07959,08085}.webp \
    --tables $CV-low/frontier/qf10_lam10.json -m camvid_deeplabv3_mobilenet_v2 \
    -o $CV-low/compare_qf10_lam10.png

# 21. Peer methods on CIFAR-10 / ResNet-20 (issue 14): DeepN-JPEG and OptS tables (closed form),
#     an AutoJPEG sweep with j4d's training settings, then all of them with j4d's frontier.
B=results/cifar10-baselines
READ=(--accuracies 0.8,0.85,0.88,0.9,0.91)
$J4D tables --method deepn -m resnet20 -q -o $B/deepn/tables
$J4D eval $B/deepn/tables/*.json -m resnet20 "${READ[@]}" -q -o $B/deepn
$J4D tables --method opts -m resnet20 -q -o $B/opts/tables
mkdir -p $B/opts/cache && cp $B/deepn/cache/jpeg_q*.json $B/opts/cache/
$J4D eval $B/opts/tables/*.json -m resnet20 "${READ[@]}" -q -o $B/opts
mkdir -p $B/autojpeg/cache && cp $B/deepn/cache/jpeg_q*.json $B/autojpeg/cache/
$J4D sweep -m resnet20 --method autojpeg --init qf:50 --lams 0.3,1,3,10,30,100 "${READ[@]}" \
    -q -o $B/autojpeg
mkdir -p $B/all/cache && cp $B/deepn/cache/jpeg_q*.json $B/all/cache/
$J4D eval results/cifar10-resnet20/frontier/*.json $B/{deepn,opts,autojpeg}/frontier/*.json \
    -m resnet20 "${READ[@]}" -q -o $B/all
# The paper's Fig. 8: j4d's rate estimate against AutoJPEG's size model on the same pairs.
$J4D rate-check -e j4d -e autojpeg -q -o results/rate-check-estimators
# AutoJPEG on ImageNet MobileNetV2 with the main j4d sweep's settings, then with the joint j4d
# frontier (issue 14).
IB=results/imagenet-baselines
mkdir -p $IB/autojpeg/cache && cp $MNV2/cache/jpeg_q*.json $IB/autojpeg/cache/
$J4D sweep -m mobilenet_v2 --method autojpeg --epochs 2 --unlabeled-crops 2048 --batch-size 32 \
    --init qf:50 --lams 0.1,0.3,1,3,10,30 --accuracies qf:90,qf:95,qf:100 --rates qf:1,0.5,1,2,3 \
    -q -o $IB/autojpeg
mkdir -p $IB/all/cache && cp $MNV2/cache/jpeg_q*.json $IB/all/cache/
$J4D eval results/imagenet-mobilenetv2-all/frontier/*.json $IB/autojpeg/frontier/*.json \
    -m mobilenet_v2 --accuracies qf:90,qf:95,qf:100 --rates qf:1,0.5,1,2,3 -q -o $IB/all

# 22. Google (Luo et al. 2020; issue 14): a CIFAR-10 sweep with j4d's recipe and an ImageNet
#     sweep with the AutoJPEG settings (its rate pulls less: larger lambdas), the joint
#     evaluations with every peer, the estimators' Fig. 8 with Google's density (fitted at each
#     quality on 100 further samples), and DeepN-JPEG / OptS on ImageNet.
mkdir -p $B/google/cache && cp $B/deepn/cache/jpeg_q*.json $B/google/cache/
$J4D sweep -m resnet20 --method google --init qf:50 --lams 0.3,1,3,10,30,100 "${READ[@]}" \
    -q -o $B/google
$J4D eval results/cifar10-resnet20/frontier/*.json $B/{deepn,opts,autojpeg,google}/frontier/*.json \
    -m resnet20 "${READ[@]}" -q -o $B/all
IREAD=(--accuracies qf:90,qf:95,qf:100 --rates qf:1,0.5,1,2,3)
mkdir -p $IB/google/cache && cp $MNV2/cache/jpeg_q*.json $IB/google/cache/
$J4D sweep -m mobilenet_v2 --method google --epochs 2 --unlabeled-crops 2048 --batch-size 32 \
    --init qf:50 --lams 0.1,0.3,1,3,10,30,100 "${IREAD[@]}" -q -o $IB/google
for lam in 1 10; do  # where its gradients reach the steps (reads the runs' checkpoints)
  .venv/bin/python $IB/google_gradients.py $IB/google/runs/qf50_lam$lam \
      > $IB/google/gradients_qf50_lam$lam.txt
done
$J4D rate-check -e j4d -e autojpeg -e google -q -o results/rate-check-estimators
for m in deepn opts; do
  mkdir -p $IB/$m/cache && cp $MNV2/cache/jpeg_q*.json $IB/$m/cache/
  $J4D tables --method $m -m mobilenet_v2 -q -o $IB/$m/tables
  $J4D eval $IB/$m/tables/*.json -m mobilenet_v2 "${IREAD[@]}" -q -o $IB/$m
done
$J4D eval results/imagenet-mobilenetv2-all/frontier/*.json \
    $IB/{autojpeg,google,opts,deepn}/frontier/*.json -m mobilenet_v2 "${IREAD[@]}" -q -o $IB/all

# 23. Encoders (issue 24): the joint j4d ImageNet front written by plain rounding and by
#     mozjpeg trellis with the tables, against default JPEG and mozjpeg (260 class-balanced
#     imagenet-val images; the 1300 next), and what progressive scans save on the same
#     indices (rates only: the same pixels).
$J4D eval results/imagenet-mobilenetv2-all/frontier/*.json -m mobilenet_v2 -c mozjpeg \
    --encoder pillow --encoder trellis --test-size 260 \
    --qualities 1,5,10,30,50,70,90,95,100 "${IREAD[@]}" -q -o results/imagenet-mobilenetv2-encoders-260
$PYTHON results/probes/progressive.py

# 24. Dead zones learned with the tables (issue 24): the ImageNet recipe of step 18 with
#     --deadzone (files by the deadzone encoder), qf:50 init, measured on step 23's images.
mkdir -p results/imagenet-mobilenetv2-deadzone/cache
cp results/imagenet-mobilenetv2-encoders-260/cache/jpeg_q*.json results/imagenet-mobilenetv2-deadzone/cache/
$J4D sweep "${TRAIN[@]}" --init qf:50 --lams 0.3,1,3,10 --deadzone --test-size 260 \
    --qualities 1,5,10,30,50,70,90,95,100 "${IREAD[@]}" -q -o results/imagenet-mobilenetv2-deadzone

# 25. Encoders on every test image (issue 24): the joint ImageNet front (1300 imagenet-val) and
#     the CamVid front (101 val frames) by plain rounding and by trellis, against default JPEG
#     and mozjpeg; the CIFAR-10 front likewise. The zoo ships the trellis fronts of MobileNetV2
#     and of the CamVid model (their tables files name the trellis encoder).
$J4D eval results/imagenet-mobilenetv2-all/frontier/*.json -m mobilenet_v2 -c mozjpeg \
    --encoder pillow --encoder trellis --qualities 1,5,10,30,50,70,90,95,100 "${IREAD[@]}" \
    -q -o results/imagenet-mobilenetv2-encoders
CVQ=(--qualities 1,5,10,15,20,30,50,70,90,95,100)
CVTABLES=($CV/frontier/*.json $CV-low/frontier/*.json $CV-high/frontier/*.json)
$J4D eval "${CVTABLES[@]}" -m camvid_deeplabv3_mobilenet_v2 -c mozjpeg \
    --encoder pillow --encoder trellis "${CVQ[@]}" --accuracies qf:90,qf:95,qf:100 \
    --rates 0.2,0.27,0.3,1,2 -q -o $CV-encoders
$J4D eval results/cifar10-resnet20/frontier/*.json --model resnet20 -c mozjpeg \
    --encoder pillow --encoder trellis --accuracies 0.8,0.85,0.88,0.9,0.91 \
    -q -o results/cifar10-resnet20-encoders
rm -rf src/j4d/zoo/mobilenet_v2 src/j4d/zoo/camvid_deeplabv3_mobilenet_v2
mkdir -p src/j4d/zoo/mobilenet_v2 src/j4d/zoo/camvid_deeplabv3_mobilenet_v2
cp results/imagenet-mobilenetv2-encoders/frontier/j4d-trellis/*.json src/j4d/zoo/mobilenet_v2/
cp $CV-encoders/frontier/j4d-trellis/*.json src/j4d/zoo/camvid_deeplabv3_mobilenet_v2/

# 26. Model-aware encoding (issue 24): per-image rate control over the trellis front's 12
#     tables (the ladder; MobileNetV2 picks each image's rung) at 7 KL tolerances; the same
#     files read by EfficientNet-Lite0, which did not guide them (390 class-balanced images);
#     the CamVid ladder over its 8 tables.
LADDER=(--ladder 0.01 --ladder 0.03 --ladder 0.1 --ladder 0.3 --ladder 1 --ladder 3 --ladder 10)
L=results/imagenet-mobilenetv2-ladder
mkdir -p $L/cache && cp results/imagenet-mobilenetv2-encoders/cache/*.json $L/cache/
$J4D eval results/imagenet-mobilenetv2-all/frontier/*.json -m mobilenet_v2 -c mozjpeg \
    --encoder trellis "${LADDER[@]}" --qualities 1,5,10,30,50,70,90,95,100 "${IREAD[@]}" -q -o $L
$J4D eval results/imagenet-mobilenetv2-all/frontier/*.json -m efficientnet_lite0 \
    --guide mobilenet_v2 --encoder trellis --test-size 390 "${LADDER[@]}" \
    --qualities 1,5,10,30,50,70,90,95,100 "${IREAD[@]}" -q -o results/imagenet-efficientnetlite0-ladder
mkdir -p $CV-ladder/cache && cp $CV-encoders/cache/*.json $CV-ladder/cache/
$J4D eval "${CVTABLES[@]}" -m camvid_deeplabv3_mobilenet_v2 -c mozjpeg --encoder trellis \
    --ladder 0.003 --ladder 0.01 --ladder 0.03 --ladder 0.1 --ladder 0.3 --ladder 1 "${CVQ[@]}" \
    --accuracies qf:90,qf:95,qf:100 --rates 0.2,0.27,0.3,1,2 -q -o $CV-ladder

# 27. CUB-50 fine-grained birds (issue 23): the ImageNet MobileNetV2 fine-tuned on cub50/train
#     (about 10 min on 2 cores; writes src/j4d/models/weights/ and its sha256), then its
#     frontier: distillation on the 1452 training birds (145 held out), measured on the 1500
#     test birds (centre crop 224, no resize). The birds are JPEG q75 already: the informative
#     range is below about 1.5 bpp.
$PYTHON scripts/train_cub50_mobilenetv2.py --epochs 15 --work runs/cub50-mobilenetv2
CUB=results/cub50-mobilenetv2
mkdir -p $CUB && cp runs/cub50-mobilenetv2/report.json $CUB/model_training.json
CUBREAD=(--accuracies qf:75,qf:90,qf:100 --rates qf:1,0.25,0.3,0.5,1,1.5)
CUBQ=(--qualities 1,5,10,15,20,30,50,75,90,95,100)
CUBTRAIN=(-m cub50_mobilenet_v2 --batch-size 32)
$J4D sweep "${CUBTRAIN[@]}" --epochs 3 --init qf:50 --lams 0.03,0.1,0.3,1,3,10 "${CUBQ[@]}" \
    "${CUBREAD[@]}" -q -o $CUB
mkdir -p $CUB-low/cache && cp $CUB/cache/jpeg_q*.json $CUB-low/cache/
$J4D sweep "${CUBTRAIN[@]}" --epochs 6 --init qf:10 --lams 1,3,10,30 "${CUBQ[@]}" "${CUBREAD[@]}" \
    -q -o $CUB-low
# ... the two fronts together, by plain rounding and by trellis, against default JPEG and
#     mozjpeg and jpegli; the ImageNet MobileNetV2 joint front on the CUB model (transfer,
#     Fig. 16c)
mkdir -p $CUB-all/cache && cp $CUB/cache/*.json $CUB-low/cache/qf10*.json $CUB-all/cache/
$J4D eval $CUB/frontier/*.json $CUB-low/frontier/*.json -m cub50_mobilenet_v2 -c mozjpeg \
    -c jpegli --encoder pillow --encoder trellis "${CUBQ[@]}" "${CUBREAD[@]}" -q -o $CUB-all
mkdir -p results/cub50-transfer-from-imagenet/cache
cp $CUB/cache/jpeg_q*.json results/cub50-transfer-from-imagenet/cache/
$J4D eval results/imagenet-mobilenetv2-all/frontier/*.json -m cub50_mobilenet_v2 --encoder pillow \
    --encoder trellis "${CUBQ[@]}" "${CUBREAD[@]}" -q -o results/cub50-transfer-from-imagenet
$J4D compare $DATA/cub50/test/{000.Black_footed_Albatross,025.Red_breasted_Merganser}/0030.jpg \
    --tables $CUB-all/frontier/j4d-trellis/qf10_lam3_trellis.json -m cub50_mobilenet_v2 --crop \
    -o $CUB-all/compare_qf10_lam3_trellis.png

# 28. EfficientNet-Lite0 and universal tables at 224 (issue 23): step 18's recipe with the
#     second ImageNet model (12 runs of about 3 min), its front by plain rounding and by
#     trellis against mozjpeg; one set of tables for MobileNetV2 and EfficientNet-Lite0
#     together (losses averaged; qf:50 x the lambdas of MobileNetV2's 1-4 bpp runs; about 12
#     min a run), measured on both; transfer both ways (plain rounding, all 1300 imagenet-val
#     images). The zoo ships the trellis front and the universal tables.
EN=results/imagenet-efficientnetlite0
Q9=(--qualities 1,5,10,30,50,70,90,95,100)
ENTRAIN=(-m efficientnet_lite0 --epochs 2 --unlabeled-crops 2048 --batch-size 32)
$J4D sweep "${ENTRAIN[@]}" --init qf:50 --init sensitivity:5 --lams 0.03,0.3,1,3,10,30 \
    "${IREAD[@]}" -q -o $EN
# the high end, as for MobileNetV2: sensitivity init, small lambda, 4 epochs
mkdir -p $EN-high/cache && cp $EN/cache/jpeg_q*.json $EN-high/cache/ && cp $EN/sensitivity.json $EN-high/
$J4D sweep -m efficientnet_lite0 --epochs 4 --unlabeled-crops 2048 --batch-size 32 \
    --init sensitivity:5 --lams 0.003 "${IREAD[@]}" -q -o $EN-high
mkdir -p $EN-all/cache && cp $EN/cache/*.json $EN-high/cache/sens*.json $EN-all/cache/
$J4D eval $EN/frontier/*.json $EN-high/frontier/*.json -m efficientnet_lite0 -c mozjpeg \
    --encoder pillow --encoder trellis "${Q9[@]}" "${IREAD[@]}" -q -o $EN-all
$J4D sweep -m mobilenet_v2 -m efficientnet_lite0 --epochs 2 --unlabeled-crops 2048 \
    --batch-size 32 --init qf:50 --lams 0.03,0.3,1 "${Q9[@]}" "${IREAD[@]}" -q \
    -o results/imagenet-universal
M2E=results/imagenet-transfer-mobilenetv2-to-efficientnetlite0
E2M=results/imagenet-transfer-efficientnetlite0-to-mobilenetv2
mkdir -p $M2E/cache $E2M/cache && cp $EN/cache/jpeg_q*.json $M2E/cache/
cp results/imagenet-mobilenetv2-encoders/cache/jpeg_q*.json $E2M/cache/
$J4D eval $ALL/frontier/*.json -m efficientnet_lite0 --encoder pillow "${IREAD[@]}" -q -o $M2E
$J4D eval $EN/frontier/*.json -m mobilenet_v2 --encoder pillow "${Q9[@]}" "${IREAD[@]}" -q -o $E2M
rm -rf src/j4d/zoo/efficientnet_lite0 src/j4d/zoo/imagenet-universal
mkdir -p src/j4d/zoo/efficientnet_lite0 src/j4d/zoo/imagenet-universal
cp $EN-all/frontier/j4d-trellis/*.json src/j4d/zoo/efficientnet_lite0/
cp results/imagenet-universal/frontier/*.json src/j4d/zoo/imagenet-universal/

# 29. CUB-50 from ImageNet tables, and CamVid from mozjpeg's tables (issues 23, 24): a CUB sweep
#     that starts from MobileNetV2's 1 bpp zoo tables (--init tables:), the joint CUB front of
#     every tables set measured on the birds (own sweeps, the fine-tuned ones, the ImageNet
#     front) by plain rounding and by trellis (the zoo ships its trellis front); a CamVid
#     sweep from mozjpeg's quality-50 tables, then the CamVid front with it by both encoders
#     against mozjpeg.
FT=$CUB-from-imagenet
mkdir -p $FT/cache && cp $CUB/cache/jpeg_q*.json $FT/cache/
$J4D tables --zoo mobilenet_v2 --bpp 1 -o $FT/imagenet-1bpp.json
$J4D sweep "${CUBTRAIN[@]}" --epochs 2 --init tables:$FT/imagenet-1bpp.json --lams 0.1,0.3,1,3 \
    "${CUBQ[@]}" "${CUBREAD[@]}" -q -o $FT
mkdir -p $CUB-joint/cache
cp $CUB-all/cache/*.json results/cub50-transfer-from-imagenet/cache/*.json $FT/cache/*.json \
    $CUB-joint/cache/
$J4D eval $CUB/frontier/*.json $CUB-low/frontier/*.json $FT/frontier/*.json \
    results/imagenet-mobilenetv2-all/frontier/*.json -m cub50_mobilenet_v2 -c mozjpeg \
    --encoder pillow --encoder trellis "${CUBQ[@]}" "${CUBREAD[@]}" -q -o $CUB-joint
rm -rf src/j4d/zoo/cub50_mobilenet_v2 && mkdir -p src/j4d/zoo/cub50_mobilenet_v2
cp $CUB-joint/frontier/j4d-trellis/*.json src/j4d/zoo/cub50_mobilenet_v2/
mkdir -p $CV-mozinit/cache && cp $CV-encoders/cache/jpeg_q*.json $CV-mozinit/cache/
$J4D sweep "${CVTRAIN[@]}" --init mozjpeg:50 --lams 0.3,1,3 "${CVREAD[@]}" -q -o $CV-mozinit
mkdir -p $CV-mozinit-encoders/cache
cp $CV-encoders/cache/*.json $CV-mozinit/cache/mozjpeg50*.json $CV-mozinit-encoders/cache/
$J4D eval "${CVTABLES[@]}" $CV-mozinit/frontier/*.json -m camvid_deeplabv3_mobilenet_v2 \
    -c mozjpeg --encoder pillow --encoder trellis "${CVQ[@]}" --accuracies qf:90,qf:95,qf:100 \
    --rates 0.2,0.27,0.3,1,2 -q -o $CV-mozinit-encoders

# 30. Filling the fronts' gaps (issue 24): ImageNet mid rates (qf:30 x lambda 0.6..2, where the
#     trellis front had no point from 0.64 to 1.13 bpp) and CamVid's low end (mozjpeg:10 x
#     lambda 5, 15, 100); each joint front by both encoders against mozjpeg; the ladder over the
#     ImageNet joint front (16 rungs). The zoo ships the joint trellis fronts.
MID=results/imagenet-mobilenetv2-mid
mkdir -p $MID/cache && cp results/imagenet-mobilenetv2-encoders/cache/jpeg_q*.json $MID/cache/
$J4D sweep "${TRAIN[@]}" --init qf:30 --lams 0.6,1,1.5,2 "${Q9[@]}" "${IREAD[@]}" -q -o $MID
IJ=results/imagenet-mobilenetv2-joint
mkdir -p $IJ/cache && cp results/imagenet-mobilenetv2-encoders/cache/*.json $MID/cache/*.json $IJ/cache/
$J4D eval $ALL/frontier/*.json $MID/frontier/*.json -m mobilenet_v2 -c mozjpeg \
    --encoder pillow --encoder trellis "${Q9[@]}" "${IREAD[@]}" -q -o $IJ
mkdir -p $CV-lowest/cache && cp $CV-all/cache/jpeg_q*.json $CV-lowest/cache/
$J4D sweep "${CVTRAIN[@]}" --init mozjpeg:10 --lams 5,15,100 "${CVREAD[@]}" -q -o $CV-lowest
mkdir -p $CV-joint/cache
cp $CV-mozinit-encoders/cache/*.json $CV-lowest/cache/mozjpeg10*.json $CV-joint/cache/
$J4D eval "${CVTABLES[@]}" $CV-mozinit/frontier/*.json $CV-lowest/frontier/*.json \
    -m camvid_deeplabv3_mobilenet_v2 -c mozjpeg --encoder pillow --encoder trellis "${CVQ[@]}" \
    --accuracies qf:90,qf:95,qf:100 --rates 0.1,0.2,0.27,0.3,1,2 -q -o $CV-joint
rm -rf src/j4d/zoo/mobilenet_v2 src/j4d/zoo/camvid_deeplabv3_mobilenet_v2
mkdir -p src/j4d/zoo/mobilenet_v2 src/j4d/zoo/camvid_deeplabv3_mobilenet_v2
cp $IJ/frontier/j4d-trellis/*.json src/j4d/zoo/mobilenet_v2/
cp $CV-joint/frontier/j4d-trellis/*.json src/j4d/zoo/camvid_deeplabv3_mobilenet_v2/
LJ=results/imagenet-mobilenetv2-ladder-joint
mkdir -p $LJ/cache && cp $IJ/cache/*.json $LJ/cache/
$J4D eval $ALL/frontier/*.json $MID/frontier/*.json -m mobilenet_v2 -c mozjpeg \
    --encoder trellis "${LADDER[@]}" "${Q9[@]}" "${IREAD[@]}" -q -o $LJ

# 31. j4d's own trellis, `rd` (issue 33): which lambda (probe, 400 images, 8 of the joint
#     front's tables), what progressive scans give (lossless transcodes, and rd's own smaller
#     file; needs Debian's libjpeg-turbo-progs for jpegtran), then the ImageNet joint front's
#     16 tables by rd against the committed trellis and Pillow curves of $IJ.
$PYTHON results/probes/rd_lambda.py
$PYTHON results/probes/rd_progressive.py
RD=results/imagenet-mobilenetv2-rd
mkdir -p $RD/cache && cp $IJ/cache/jpeg_q*.json $RD/cache/
$J4D eval $ALL/frontier/*.json $MID/frontier/*.json -m mobilenet_v2 --encoder rd \
    "${Q9[@]}" "${IREAD[@]}" -q -o $RD
for metric in top1 agreement; do
    for rate in file_bpp scan_bpp; do
        $PYTHON scripts/plot_fronts.py --rate $rate --rates 0.3,0.5,1,2,3 --ylabel $metric \
            --title "imagenet-val, 1300 images, MobileNetV2: the joint front's 16 tables by each encoder" \
            -o $RD/fronts_${metric}_${rate} "j4d trellis (mozjpeg)=$IJ:j4d-trellis:$metric" \
            "j4d rd=$RD:j4d-rd:$metric" "j4d pillow=$IJ:j4d:$metric" "mozjpeg=$IJ:mozjpeg:$metric" \
            "default JPEG=$IJ:jpeg:$metric"
    done
done

# 32. j4d's own trellis on the other settings (issue 33): the task's curvature as distortion
#     weights (probe, 400 images, 8 of the ImageNet joint front's tables, against lambda 32, 64,
#     128 with the tables' own 1/q^2), then rd on every tables file of the CUB-50 and CamVid
#     joint fronts and of the CIFAR-10 front (one default-JPEG point each: the curves come from
#     the folders of steps 25, 29, 30, same images and decoder), overlaid against trellis,
#     Pillow, mozjpeg and default JPEG.
$J4D sensitivity -m mobilenet_v2 --kind curvature --images 400 -q \
    -o results/probes/curvature_mobilenet_v2.json
$PYTHON results/probes/rd_task_weights.py
$PYTHON results/probes/rd_adaptive.py   # mozjpeg's per-block lambda
$PYTHON results/probes/rd_writer.py     # j4d's writer on mozjpeg's own indices
$J4D eval $CUB/frontier/*.json $CUB-low/frontier/*.json $FT/frontier/*.json \
    $ALL/frontier/*.json -m cub50_mobilenet_v2 --encoder rd --qualities 75 \
    --accuracies qf:75 --rates 0.25,0.3,0.5,1,1.5 -q -o $CUB-rd
$J4D eval "${CVTABLES[@]}" $CV-mozinit/frontier/*.json $CV-lowest/frontier/*.json \
    -m camvid_deeplabv3_mobilenet_v2 --encoder rd --qualities 50 --accuracies qf:50 \
    --rates 0.1,0.2,0.3,1,2 -q -o $CV-rd
$J4D eval results/cifar10-resnet20/frontier/*.json --model resnet20 --encoder rd --qualities 50 \
    --accuracies 0.8,0.85,0.88,0.9,0.91 -q -o results/cifar10-resnet20-rd
fronts() {  # fronts EVAL_DIR JOINT_DIR METRIC RATES TITLE
    for rate in file_bpp scan_bpp; do
        for anchor in "j4d trellis (mozjpeg)=$2:j4d-trellis:$3" "default JPEG=$2:jpeg:$3"; do
            name=$([[ $anchor == default* ]] && echo vs_jpeg || echo vs_trellis)
            $PYTHON scripts/plot_fronts.py --rate $rate --rates $4 --ylabel $3 --title "$5" \
                -o $1/fronts_$3_${rate}_$name "$anchor" "j4d rd=$1:j4d-rd:$3" \
                "j4d pillow=$2:j4d:$3" "mozjpeg=$2:mozjpeg:$3" \
                "$([[ $name == vs_jpeg ]] && echo "j4d trellis (mozjpeg)=$2:j4d-trellis:$3" \
                    || echo "default JPEG=$2:jpeg:$3")"
        done
    done
}
fronts $CUB-rd $CUB-joint top1 0.25,0.3,0.5,1,1.5 "cub50/test, 1500 images, CUB MobileNetV2"
fronts $CV-rd $CV-joint miou 0.1,0.2,0.3,1,2 "camvid/val, 101 frames, DeepLabV3-MobileNetV2"
fronts results/cifar10-resnet20-rd results/cifar10-resnet20-encoders top1 0.5,1,2,3 \
    "cifar10/test, 5000 images, ResNet-20"
for rate in scan_bpp file_bpp; do  # CIFAR-10's goal is plain rounding's front
    $PYTHON scripts/plot_fronts.py --rate $rate --rates 1,2,4,8 --ylabel top1 \
        --title "cifar10/test, 5000 images, ResNet-20" \
        -o results/cifar10-resnet20-rd/fronts_top1_${rate}_vs_pillow \
        "j4d pillow=results/cifar10-resnet20-encoders:j4d:top1" \
        "j4d rd=results/cifar10-resnet20-rd:j4d-rd:top1" \
        "j4d trellis (mozjpeg)=results/cifar10-resnet20-encoders:j4d-trellis:top1" \
        "default JPEG=results/cifar10-resnet20-encoders:jpeg:top1"
done

# 33. What the zoo's tables are compared with when a user picks a rate (issue 35): each zoo
#     model on its uncompressed test images, and default JPEG's points of the evaluation its
#     tables come from (src/j4d/zoo/references.json, read by `j4d tables --zoo MODEL`);
#     imagenet-universal's comes with its tables in step 34.
$PYTHON scripts/zoo_references.py resnet20 mobilenet_v2 efficientnet_lite0 cub50_mobilenet_v2 \
    camvid_deeplabv3_mobilenet_v2

# 34. Tables for ImageNet classifiers j4d never saw (issue 36): each of four models' gradient
#     sensitivity (1000 unlabeled crops; EfficientNet-Lite1/2 from the more-models extra), then
#     the probe that holds each model out in turn (OptS tables from the other three models'
#     pooled sensitivities, and those weights to the power 0.5, the model-free OptS tables,
#     the earlier universal tables; 500 imagenet-val images, all four models read the same
#     files), then the zoo entry: OptS
#     tables from all four, 9 target rates, by trellis, measured on the 1300 images by the four
#     models (about 35 minutes on 2 cores), copied to the zoo with its references.
U=runs/universal2
mkdir -p $U/sens
SENS=()
for m in mobilenet_v2 efficientnet_lite0 efficientnet_lite1 efficientnet_lite2; do
    [ -f $U/sens/$m.json ] || $J4D sensitivity -m $m --images 1000 -q -o $U/sens/$m.json
    [ -f $U/sens/grad_$m.json ] || \
        $J4D sensitivity -m $m --kind gradient --images 1000 -q -o $U/sens/grad_$m.json
    SENS+=(-m $m --sensitivity $U/sens/grad_$m.json)
done
$PYTHON results/probes/universal_heldout.py jpeg mozjpeg "opts-l0+l1+l2" zoo-universal-trellis \
    opts-flat "opts-mnv2+l0+l1" "opts-mnv2+l0+l2" "opts-mnv2+l1+l2" "opts-mnv2+l0+l1^0.5" \
    "opts-l0+l1+l2^0.5" "opts-mnv2+l0+l2^0.5" "opts-mnv2+l1+l2^0.5"
# ... and tables trained for the three EfficientNets together (MobileNetV2 held out), their
#     distillation losses averaged or the worst of them per batch, three lambdas each (about
#     20 minutes a run on 2 cores)
for pooling in mean worst; do
    suffix="" && [ $pooling = mean ] || suffix=@$pooling  # the probe's trained-...@worst
    runs=runs/universal3/l0+l1+l2$suffix
    for lam in 1 0.1 0.01; do
        [ -f $runs/lam$lam/tables.json ] || $J4D train -m efficientnet_lite0 \
            -m efficientnet_lite1 -m efficientnet_lite2 --model-pooling $pooling --epochs 2 \
            --unlabeled-crops 2048 --batch-size 32 --init qf:50 --lam $lam -q -o $runs/lam$lam
    done
done
$PYTHON results/probes/universal_heldout.py "trained-l0+l1+l2" "trained-l0+l1+l2@worst"
$J4D tables --method opts "${SENS[@]}" --targets 0.3,0.5,0.75,1,1.5,2,2.5,3,4 --images 1000 -q \
    -o $U/opts4
$J4D eval $U/opts4/*.json -m mobilenet_v2 -m efficientnet_lite0 -m efficientnet_lite1 \
    -m efficientnet_lite2 --encoder trellis --qualities 1,5,10,30,50,70,90,95,100 \
    --accuracies qf:90,qf:95,qf:100 --rates qf:1,0.5,1,2,3 -q -o results/imagenet-universal-opts
# ... the MobileNetV2 fold again on all 1300 images: tables made with the three EfficientNets
#     only (by the command line, as a user would), read by MobileNetV2 beside mozjpeg
L012=()
for m in efficientnet_lite0 efficientnet_lite1 efficientnet_lite2; do
    L012+=(-m $m --sensitivity $U/sens/grad_$m.json)
done
$J4D tables --method opts "${L012[@]}" --targets 0.3,0.5,0.75,1,1.5,2,3,4 --images 1000 -q \
    -o $U/opts-l012
$J4D eval $U/opts-l012/*.json -m mobilenet_v2 --encoder trellis -c mozjpeg \
    --qualities 1,5,10,30,50,70,90,95,100 --accuracies qf:90,qf:95,qf:100 --rates qf:1,0.5,1,2,3 \
    -q -o results/imagenet-universal-heldout-mobilenetv2
rm -rf src/j4d/zoo/imagenet-universal && mkdir -p src/j4d/zoo/imagenet-universal
cp results/imagenet-universal-opts/frontier/*.json src/j4d/zoo/imagenet-universal/
$PYTHON scripts/zoo_references.py imagenet-universal
# ... and on the two models that have fronts of their own, the universal tables against them
for pair in mobilenet_v2:imagenet-mobilenetv2-joint efficientnet_lite0:imagenet-efficientnetlite0-all
do
    m=${pair%%:*} own=results/${pair#*:}
    for rate in file_bpp scan_bpp; do
        $PYTHON scripts/plot_fronts.py --rate $rate --rates 0.5,1,2,3 --ylabel top1 \
            --title "imagenet-val, 1300 images, $m" \
            -o results/imagenet-universal-opts/own_vs_universal_${m}_${rate} \
            "default JPEG=$own:jpeg:top1" "own front (trellis)=$own:j4d-trellis:top1" \
            "universal (trellis)=results/imagenet-universal-opts:opts-trellis:top1[$m]" \
            "mozjpeg=$own:mozjpeg:top1"
    done
done

# 35. Model-aware encoding in j4d's own trellis (issue 34): the joint MobileNetV2 front's 16
#     tables by rd, model-free and with MobileNetV2's per-block Fisher weights (strength 1), and
#     as a per-image ladder with model-free and model-aware rungs; the same files read by
#     EfficientNet-Lite0, which guided nothing (1300 imagenet-val images).
MA=results/imagenet-mobilenetv2-model-aware
$J4D eval $ALL/frontier/*.json $MID/frontier/*.json -m mobilenet_v2 -m efficientnet_lite0 \
    --guide mobilenet_v2 --encoder rd --guided 1 "${LADDER[@]}" --ladder-strength 0 \
    --ladder-strength 1 "${Q9[@]}" "${IREAD[@]}" -q -o $MA
$PYTHON scripts/model_accuracy.py
# ... the roles swapped: the same tables and images, EfficientNet-Lite0 guiding (per block, and
#     the ladder with per-block rungs), MobileNetV2 reading without having guided (default
#     JPEG's and the model-free rows are the same measurements as above: copied)
SW=results/imagenet-efficientnetlite0-model-aware
mkdir -p $SW/cache && cp $MA/cache/jpeg_q*.json $MA/cache/*_rd.*.json $SW/cache/
$J4D eval $ALL/frontier/*.json $MID/frontier/*.json -m mobilenet_v2 -m efficientnet_lite0 \
    --guide efficientnet_lite0 --encoder rd --guided 1 "${LADDER[@]}" --ladder-strength 1 \
    "${Q9[@]}" "${IREAD[@]}" -q -o $SW
# ... CUB-50 and CamVid, each guided by its own model, on the tables of step 32's rd fronts
#     (their model-free rows are step 32's: copied)
mkdir -p $CUB-model-aware/cache && cp $CUB-rd/cache/*.json $CUB-model-aware/cache/
$J4D eval $CUB/frontier/*.json $CUB-low/frontier/*.json $FT/frontier/*.json \
    $ALL/frontier/*.json -m cub50_mobilenet_v2 --guide cub50_mobilenet_v2 --encoder rd \
    --guided 1 "${LADDER[@]}" --ladder-strength 0 --ladder-strength 1 "${CUBQ[@]}" \
    "${CUBREAD[@]}" -q -o $CUB-model-aware
mkdir -p $CV-model-aware/cache && cp $CV-rd/cache/*.json $CV-model-aware/cache/
$J4D eval "${CVTABLES[@]}" $CV-mozinit/frontier/*.json $CV-lowest/frontier/*.json \
    -m camvid_deeplabv3_mobilenet_v2 --guide camvid_deeplabv3_mobilenet_v2 --encoder rd \
    --guided 1 --ladder 0.003 --ladder 0.01 --ladder 0.03 --ladder 0.1 --ladder 0.3 --ladder 1 \
    --ladder-strength 1 "${CVQ[@]}" --accuracies qf:90,qf:95,qf:100 \
    --rates 0.1,0.2,0.27,0.3,1,2 -q -o $CV-model-aware
# ... and per block with each class the segmenter predicts weighing alike (mIoU's view)
mkdir -p $CV-model-aware-balanced/cache
cp $CV-model-aware/cache/jpeg_q*.json $CV-model-aware/cache/*_rd.*.json $CV-model-aware-balanced/cache/
$J4D eval "${CVTABLES[@]}" $CV-mozinit/frontier/*.json $CV-lowest/frontier/*.json \
    -m camvid_deeplabv3_mobilenet_v2 --guide camvid_deeplabv3_mobilenet_v2 --encoder rd \
    --guided 1 --class-balanced "${CVQ[@]}" --accuracies qf:90,qf:95,qf:100 \
    --rates 0.1,0.2,0.27,0.3,1,2 -q -o $CV-model-aware-balanced

# 36. Photos at their own size (issue 44). The photos of shared/data/photos are fetched as its
#     README says, into ../photos (J4D_PHOTOS): coco/ and cameras/. Tables for MobileNetV2 at
#     scale 1.5 (short side 384) learned by distillation from the 105 COCO train2017 photos and
#     Kodak-24 (downscaled to 384), each crop read through the model's view; the zoo's 224
#     tables, default JPEG, mozjpeg and "resize to 256 first" measured on the 334 full-size
#     imagenet-samples photos at their own size, read by MobileNetV2 and EfficientNet-Lite0
#     through their views (about 50 minutes); then the scale tables by mozjpeg's trellis, rd
#     and rd-view (the centre crop's blocks only), their codecs copied from the first.
PHOTOS=${J4D_PHOTOS:-../photos}
S15=results/imagenet-mobilenetv2-scale1.5
OWN=results/imagenet-mobilenetv2-own-size
OWNREAD=(-m mobilenet_v2 -m efficientnet_lite0 --own-size --accuracies qf:90,qf:95 --rates 0.5,1,2
    --qualities 5,10,20,30,40,50,60,70,80,90,95 -c mozjpeg --resize-first -q)
for lam in 1 3 0.3 10 0.03; do
    [ -f $S15/runs/qf50_lam$lam/tables.json ] || $J4D train -m mobilenet_v2 --scale 1.5 \
        --unlabeled $PHOTOS/coco/train2017 --unlabeled $DATA/kodak24 --epochs 2 \
        --unlabeled-crops 2048 --batch-size 32 --init qf:50 --lam $lam -q -o $S15/runs/qf50_lam$lam
done
$J4D eval src/j4d/zoo/mobilenet_v2/*.json "${OWNREAD[@]}" --test $DATA/imagenet-samples -o $OWN
mkdir -p $S15/cache && cp $OWN/cache/jpeg_q*.json $OWN/cache/mozjpeg_q*.json $S15/cache/
$J4D eval $S15/runs/*/tables.json --encoder trellis --encoder rd --encoder rd-view \
    "${OWNREAD[@]}" --test $DATA/imagenet-samples -o $S15
# ... EfficientNet-Lite0's own tables at scale 1.5 (the same recipe; Lite0's files come out
#     smaller at a lambda, so its lambdas reach lower), by rd and rd-view, read by both models
#     (the codecs' points copied from the MobileNetV2 evaluation)
L15=results/imagenet-efficientnetlite0-scale1.5
for lam in 1 3 0.3 0.03 0.1 0.01; do
    [ -f $L15/runs/qf50_lam$lam/tables.json ] || $J4D train -m efficientnet_lite0 --scale 1.5 \
        --unlabeled $PHOTOS/coco/train2017 --unlabeled $DATA/kodak24 --epochs 2 \
        --unlabeled-crops 2048 --batch-size 32 --init qf:50 --lam $lam -q -o $L15/runs/qf50_lam$lam
done
mkdir -p $L15/cache && cp $S15/cache/jpeg_q*.json $S15/cache/mozjpeg_q*.json $L15/cache/
$J4D eval $L15/runs/*/tables.json --encoder rd --encoder rd-view "${OWNREAD[@]}" \
    --test $DATA/imagenet-samples -o $L15
# ... each model's fronts overlaid, against default JPEG and against mozjpeg (whole file and scan)
for m in "top1[mobilenet_v2]" "agreement[mobilenet_v2]" "top1[efficientnet_lite0]" \
    "agreement[efficientnet_lite0]"; do
    tag=$(echo "$m" | tr -d '[]' | sed 's/mobilenet_v2/_mnv2/;s/efficientnet_lite0/_lite0/')
    for ref in jpeg mozjpeg; do
        for rate in file_bpp scan_bpp; do
            first="default JPEG=$S15:jpeg:$m"; second="mozjpeg=$S15:mozjpeg:$m"
            [ $ref = mozjpeg ] && { first="mozjpeg=$S15:mozjpeg:$m"; second="default JPEG=$S15:jpeg:$m"; }
            $PYTHON scripts/plot_fronts.py --rate $rate --rates 0.5,1,2 --ylabel "$m" \
                -o $S15/fronts_${tag}_${rate}_vs_$ref "$first" "$second" \
                "224 tables (zoo), trellis=$OWN:j4d-trellis:$m" \
                "scale 1.5, trellis=$S15:j4d@1.5-trellis:$m" "scale 1.5, rd=$S15:j4d@1.5-rd:$m" \
                "scale 1.5, rd-view=$S15:j4d@1.5-rd-view:$m" \
                "resize to 256 first=$S15:jpeg-resized256:$m"
        done
    done
done
# ... the zoo's tables for photos at scale 1.5: the scale runs by rd, read by MobileNetV2 alone
#     (the zoo records one model's metric), copied to src/j4d/zoo/mobilenet_v2@1.5 with their
#     references (default JPEG's points and the model on the uncompressed photos)
$J4D eval $S15/runs/*/tables.json --encoder rd -m mobilenet_v2 --own-size \
    --accuracies qf:90,qf:95 --rates 0.5,1,2 --qualities 5,10,20,30,40,50,60,70,80,90,95 -q \
    --test $DATA/imagenet-samples -o $S15-zoo
rm -rf "src/j4d/zoo/mobilenet_v2@1.5" && mkdir -p "src/j4d/zoo/mobilenet_v2@1.5"
cp "$S15-zoo/frontier/"*.json "src/j4d/zoo/mobilenet_v2@1.5/"
$PYTHON scripts/zoo_references.py "mobilenet_v2@1.5"
# ... photos nobody here tuned to at another scale (96 COCO val2017 photos, 640x480 or so: by
#     agreement, no ImageNet labels), and 24 of the camera originals (every third by name,
#     4-16 MP: by agreement; fewer qualities, each 8 MP file costs seconds)
$J4D eval src/j4d/zoo/mobilenet_v2/*.json $S15/runs/*/tables.json --encoder trellis \
    "${OWNREAD[@]}" --test $PHOTOS/coco/val2017 -o results/coco-mobilenetv2-own-size
mkdir -p $PHOTOS/cameras24
ls $PHOTOS/cameras | sort | awk 'NR%3==1' | head -24 | while read -r f; do
    ln -sf ../cameras/$f $PHOTOS/cameras24/$f
done
Z=src/j4d/zoo/mobilenet_v2
$J4D eval $S15/runs/*/tables.json $Z/qf30_lam1_trellis.json $Z/qf10_lam3_trellis.json \
    $Z/qf50_lam0.3_trellis.json -m mobilenet_v2 -m efficientnet_lite0 --own-size \
    --accuracies qf:90 --rates 0.1,0.3,1 --qualities 10,30,50,70,90 --encoder trellis -c mozjpeg \
    --resize-first -q --test $PHOTOS/cameras24 -o results/cameras-mobilenetv2-own-size
# ... a mixed folder, 150 imagenet-val centre crops (224, PNG) and 150 imagenet-samples photos
#     (every other one by name): each 224 zoo entry and each scale-1.5 entry for every image,
#     against zoo:mobilenet_v2@withinP, @Bbpp and @lamL (each image by the entry of its own scale)
MIXED=$PHOTOS/mixed
$PYTHON scripts/mixed_folder.py $DATA $MIXED
CHOICES=()
for p in 1 2 4 6 10 15 25; do CHOICES+=("zoo:mobilenet_v2@within$p"); done
for b in 0.3 0.5 0.7 1 1.5 2 3; do CHOICES+=("zoo:mobilenet_v2@${b}bpp"); done
for l in 0.03 0.3 1 3 10; do CHOICES+=("zoo:mobilenet_v2@lam$l"); done
$J4D eval $Z/*.json "src/j4d/zoo/mobilenet_v2@1.5/"*.json "${CHOICES[@]}" -m mobilenet_v2 \
    --own-size --qualities 5,10,20,30,50,70,90 --accuracies qf:90 --rates 0.5,1,2 -q \
    --test $MIXED -o results/imagenet-mobilenetv2-mixed

# 37. rd's operating point (issue 45): seven of the zoo's MobileNetV2 tables on 500 imagenet-val
#     images (400 test, 100 calibrate), mozjpeg's trellis against rd at fixed lambdas 8, 16, 32
#     and with mozjpeg's per-block lambda rule x 0.5, 1, 2, compared table by table at a matched
#     rate and at a matched divergence with paired bootstrap intervals (about 70 minutes on one
#     core; rows resume)
$PYTHON results/probes/rd_operating_point.py

# 38. rd with mozjpeg's per-block lambda (meta rd.rule = energy, x 1) on the ImageNet joint
#     front's 16 tables (issue 45), lean files, against the trellis, fixed-lambda rd, Pillow,
#     mozjpeg and default JPEG curves of steps 30-31 (same images, decoder, whole file)
RE=results/imagenet-mobilenetv2-rd-energy
$PYTHON scripts/rd_rule_tables.py $ALL/frontier/*.json $MID/frontier/*.json -o $RE/tables \
    --rule energy --lambda 1
$J4D eval $RE/tables/*.json -m mobilenet_v2 --encoder rd "${Q9[@]}" "${IREAD[@]}" -j 2 -q -o $RE
for metric in top1 agreement; do
    for rate in file_bpp scan_bpp; do
        $PYTHON scripts/plot_fronts.py --rate $rate --rates 0.3,0.5,1,2,3 --ylabel $metric \
            --title "imagenet-val, 1300 images, MobileNetV2: the joint front's 16 tables by each encoder" \
            -o $RE/fronts_${metric}_${rate} "j4d trellis (mozjpeg)=$IJ:j4d-trellis:$metric" \
            "j4d rd, energy rule=$RE:j4d-rd:$metric" "j4d rd, lambda 32=$RD:j4d-rd:$metric" \
            "mozjpeg=$IJ:mozjpeg:$metric" "default JPEG=$IJ:jpeg:$metric"
    done
done
# ... the zoo's MobileNetV2 (224) entries: that front's tables by rd with the energy rule
rm -rf src/j4d/zoo/mobilenet_v2 && mkdir -p src/j4d/zoo/mobilenet_v2
cp $RE/frontier/*.json src/j4d/zoo/mobilenet_v2/
# ... and on CamVid: the 14 tables of step 32's rd evaluation by rd with the energy rule
RC=results/camvid-deeplabv3-rd-energy
$PYTHON scripts/rd_rule_tables.py $CV/frontier/*.json $CV-low/frontier/*.json \
    $CV-high/frontier/*.json $CV-mozinit/frontier/*.json $CV-lowest/frontier/*.json -o $RC/tables \
    --rule energy --lambda 1
$J4D eval $RC/tables/*.json -m camvid_deeplabv3_mobilenet_v2 --encoder rd --qualities 50 \
    --accuracies qf:50 --rates 0.1,0.2,0.3,1,2 -j 2 -q -o $RC
for rate in file_bpp scan_bpp; do
    $PYTHON scripts/plot_fronts.py --rate $rate --rates 0.1,0.2,0.3,1,2 --ylabel miou \
        --title "camvid/val, 101 frames, DeepLabV3-MobileNetV2" \
        -o $RC/fronts_miou_${rate}_vs_trellis "j4d trellis (mozjpeg)=$CV-joint:j4d-trellis:miou" \
        "j4d rd, energy rule=$RC:j4d-rd:miou" "j4d rd, lambda 32=$CV-rd:j4d-rd:miou" \
        "mozjpeg=$CV-joint:mozjpeg:miou" "default JPEG=$CV-joint:jpeg:miou"
done

# 39. rd with the energy rule on the other zoo fronts (issue 45): each zoo entry's tables (the
#     trellis fronts of steps 28 and 29, the CIFAR-10 front) by rd, x 1 of mozjpeg's per-block
#     lambda, lean files; the default-JPEG and trellis curves come from the folders
#     that made those fronts (same images, decoder, whole file)
EALL=results/imagenet-efficientnetlite0-all
RCUB=results/cub50-mobilenetv2-rd-energy
REN=results/imagenet-efficientnetlite0-rd-energy
$PYTHON scripts/rd_rule_tables.py $CUB-joint/frontier/j4d-trellis/*.json -o $RCUB/tables
$J4D eval $RCUB/tables/*.json -m cub50_mobilenet_v2 --encoder rd --qualities 75 \
    --accuracies qf:75 --rates 0.25,0.3,0.5,1,1.5 -j 2 -q -o $RCUB
# ... ahead of the trellis there (BD -2.5 %) as on CamVid (step 38): the zoo's CUB-50 and CamVid
#     entries are these fronts
rm -rf src/j4d/zoo/cub50_mobilenet_v2 src/j4d/zoo/camvid_deeplabv3_mobilenet_v2
mkdir -p src/j4d/zoo/cub50_mobilenet_v2 src/j4d/zoo/camvid_deeplabv3_mobilenet_v2
cp $RCUB/frontier/*.json src/j4d/zoo/cub50_mobilenet_v2/
cp results/camvid-deeplabv3-rd-energy/frontier/*.json src/j4d/zoo/camvid_deeplabv3_mobilenet_v2/
$PYTHON scripts/rd_rule_tables.py $EALL/frontier/j4d-trellis/*.json -o $REN/tables
$J4D eval $REN/tables/*.json -m efficientnet_lite0 --encoder rd --qualities 50 \
    --accuracies qf:50 --rates 0.3,0.5,1,2,3 -j 2 -q -o $REN
RC10=results/cifar10-resnet20-rd-energy
$PYTHON scripts/rd_rule_tables.py results/cifar10-resnet20/frontier/*.json -o $RC10/tables
$J4D eval $RC10/tables/*.json --model resnet20 --encoder rd --qualities 50 \
    --accuracies 0.8,0.85,0.88,0.9,0.91 -j 2 -q -o $RC10
# ... each against mozjpeg's trellis and default JPEG on the same tables and images (step 32's
#     overlays)
fronts $RCUB $CUB-joint top1 0.25,0.3,0.5,1,1.5 "cub50/test, 1500 images, CUB MobileNetV2"
for metric in top1 agreement; do
    fronts $REN $EALL $metric 0.3,0.5,1,2,3 "imagenet-val, 1300 images, EfficientNet-Lite0"
done
fronts $RC10 results/cifar10-resnet20-encoders top1 0.5,1,2,3 "cifar10/test, 5000 images, ResNet-20"
fronts results/camvid-deeplabv3-rd-energy $CV-joint miou 0.1,0.2,0.3,1,2 \
    "camvid/val, 101 frames, DeepLabV3-MobileNetV2"
# ... rd is ahead of the trellis on EfficientNet-Lite0's front too (BD -0.6 %) and of plain
#     rounding on CIFAR-10's (-16.2 % against default JPEG where plain rounding is at -11.3 %):
#     the zoo's EfficientNet-Lite0 and ResNet-20 entries are these fronts
rm -rf src/j4d/zoo/efficientnet_lite0 src/j4d/zoo/resnet20
mkdir -p src/j4d/zoo/efficientnet_lite0 src/j4d/zoo/resnet20
cp $REN/frontier/*.json src/j4d/zoo/efficientnet_lite0/
cp $RC10/frontier/*.json src/j4d/zoo/resnet20/

# 40. A data set's files sharing their tables (issue 45): the zoo's 14 MobileNetV2 tables by rd
#     with Huffman tables learned once on the imagenet-samples crops, abbreviated files (no DQT,
#     no DHT) on all 1300 imagenet-val images, against the same images' default JPEG, mozjpeg,
#     trellis and ordinary rd curves (whole file)
$PYTHON results/probes/abbreviated.py
AB=results/imagenet-mobilenetv2-abbreviated
for metric in top1 agreement; do
    for rate in file_bpp scan_bpp; do
        $PYTHON scripts/plot_fronts.py --rate $rate --rates 0.3,0.5,1,2,3 --ylabel $metric \
            --title "imagenet-val, 1300 images, MobileNetV2: the zoo's tables, files sharing their tables" \
            -o $AB/fronts_${metric}_${rate} "default JPEG=$IJ:jpeg:$metric" \
            "rd, abbreviated files=$AB:j4d-rd-abbreviated:$metric" \
            "rd, ordinary files=$RE:j4d-rd:$metric" "j4d trellis (mozjpeg)=$IJ:j4d-trellis:$metric" \
            "mozjpeg=$IJ:mozjpeg:$metric"
    done
done

# 41. Block importance from the image alone (issue 46): the block-importance predictor distilled
#     from MobileNetV2's and EfficientNet-Lite0/1's Fisher block scores (4 probes) on 2282 224
#     crops (imagenet-samples, Kodak-24, COCO train2017, CUB-50 train, CamVid train; targets
#     cached per folder and guide), a per-block perceptron plus the centre map's log (weight 1,
#     chosen on imagenet-samples by the held-out EfficientNet-Lite2's scores), shipped in the
#     package; then the image-only maps and the predictor as rd block weights on 400
#     imagenet-val images, read by MobileNetV2, EfficientNet-Lite0 and the held-out
#     EfficientNet-Lite2 (resumable)
$PYTHON scripts/train_importance.py -o runs/importance/predictor.npz
cp runs/importance/predictor.npz src/j4d/encoders/data/importance_predictor.npz
cp runs/importance/predictor.json results/importance-predictor/training.json
(cd results/probes && ../../$PYTHON image_maps.py)
# ... and each map's agreement with each model's own block scores on 200 of those images
(cd results/probes && ../../$PYTHON importance_targets.py)

# 42. End-of-block runs priced as the progressive frame codes them (issue 45): rd on every other
#     zoo MobileNetV2 table, 400 imagenet-val images, lambda scale 0.7 / 1 / 1.4, priced as a
#     baseline scan (rd's default) or as the frame the file will likely take (resumable)
$PYTHON results/probes/rd_eob_runs.py

# 43. The universal tables by rd (issue 45): step 34's nine OptS tables pooled over four
#     classifiers, written by rd with mozjpeg's per-block lambda, read by all four on the 1300
#     imagenet-val images, against the same tables by mozjpeg's trellis (step 34's folder)
UR=results/imagenet-universal-rd-energy
$PYTHON scripts/rd_rule_tables.py results/imagenet-universal-opts/frontier/*.json -o $UR/tables
$J4D eval $UR/tables/*.json -m mobilenet_v2 -m efficientnet_lite0 -m efficientnet_lite1 \
    -m efficientnet_lite2 --encoder rd --qualities 50 --accuracies qf:50 --rates 0.3,0.5,1,2,3 \
    -j 2 -q -o $UR
# ... each model's front against the same tables by mozjpeg's trellis and default JPEG
UO=results/imagenet-universal-opts
for m in mobilenet_v2 efficientnet_lite0 efficientnet_lite1 efficientnet_lite2; do
    for rate in file_bpp scan_bpp; do
        for name in vs_trellis vs_jpeg; do
            first="j4d trellis (mozjpeg)=$UO:opts-trellis:top1[$m]" second="default JPEG=$UO:jpeg:top1[$m]"
            [[ $name == vs_jpeg ]] && { t=$first; first=$second; second=$t; }
            $PYTHON scripts/plot_fronts.py --rate $rate --rates 0.3,0.5,1,2,3 --ylabel "top1 ($m)" \
                --title "imagenet-val, 1300 images, $m: the universal tables" \
                -o $UR/fronts_top1_${m}_${rate}_$name "$first" "j4d rd=$UR:opts-rd:top1[$m]" "$second"
        done
    done
done
# ... rd at parity with the trellis there (whole-file BD-rates +0.2, -0.4, -3.1 and +0.2 % by the
#     four models' top-1; per table a median of -0.3 % bytes at +-0.1 points) and twice as fast:
#     the zoo's universal entry is this front (its references keep step 34's default JPEG)
rm -rf src/j4d/zoo/imagenet-universal && mkdir -p src/j4d/zoo/imagenet-universal
cp $UR/frontier/*.json src/j4d/zoo/imagenet-universal/
for m in mobilenet_v2 efficientnet_lite0 efficientnet_lite1 efficientnet_lite2; do
    $PYTHON scripts/per_table.py $UO:opts-trellis $UR:opts-rd --metric "top1[$m]" \
        --json $UR/per_table_top1_$m.json
done

# 44. A data set's shards (issue 48): j4d encode over WebDataset shards on one and two local
#     processes and Ray workers (a local cluster of 2 CPUs), 224 crops and full-size photos
$PYTHON bench/bench_shards.py --shards 4 --per-shard 50 --runs 3 --out results/cluster/bench_shards.json
$PYTHON bench/bench_shards.py --shards 4 --per-shard 250 --runs 2 \
    --out results/cluster/bench_shards_large.json

# 45. Block importance from the image alone on the other tasks (issue 46): every other table of
#     the zoo's CUB-50 and CamVid entries by model-free rd and by rd-aware (the predictor of step
#     41, distilled from ImageNet classifiers only), against default JPEG of step 32's folders
#     and the models' own Fisher weights of step 35 (lambda 32, other tables)
for task in cub50_mobilenet_v2:cub50-mobilenetv2:top1:0.25,0.3,0.5,1,1.5:75 \
        camvid_deeplabv3_mobilenet_v2:camvid-deeplabv3:miou:0.1,0.2,0.3,1,2:50; do
    IFS=: read -r model folder metric rates quality <<< "$task"
    N=results/$folder-rd-aware
    TABLES=$($PYTHON -c "import json,sys; p=sorted(sys.argv[1:], key=lambda f: json.load(open(f))['meta']['test']['file_bpp']); print(' '.join(p[::2]))" src/j4d/zoo/$model/*.json)
    $J4D eval $TABLES -m $model --encoder rd --encoder rd-aware --qualities $quality \
        --accuracies qf:$quality --rates $rates -j 2 -q -o $N
    for rate in file_bpp scan_bpp; do
        $PYTHON scripts/plot_fronts.py --rate $rate --rates $rates --ylabel $metric \
            --title "the zoo's $model tables: block weights from the image" \
            -o $N/fronts_${metric}_${rate}_vs_jpeg "default JPEG=results/$folder-joint:jpeg:$metric" \
            "rd=$N:j4d-rd:$metric" "rd-aware (predictor)=$N:j4d-rd-aware:$metric" \
            "rd, the model's own Fisher weights (lambda 32)=results/$folder-model-aware:j4d-rd-guided1:$metric" \
            "rd, lambda 32=results/$folder-model-aware:j4d-rd:$metric"
        $PYTHON scripts/plot_fronts.py --rate $rate --rates $rates --ylabel $metric \
            --title "the zoo's $model tables: block weights from the image" \
            -o $N/fronts_${metric}_${rate}_vs_rd "rd=$N:j4d-rd:$metric" \
            "rd-aware (predictor)=$N:j4d-rd-aware:$metric" "default JPEG=results/$folder-joint:jpeg:$metric"
    done
done

# 46. Block importance from the image alone on all 1300 imagenet-val images (issue 46): every
#     other table of the zoo's MobileNetV2 entry by model-free rd and by rd-aware (step 41's
#     predictor), read by MobileNetV2 and EfficientNet-Lite0 (distilled) and EfficientNet-Lite2
#     (held out), against default JPEG of step 34's folder (all four models) and the guides'
#     own Fisher weights of step 35 (lambda 32, the joint front's tables)
IA=results/imagenet-mobilenetv2-rd-aware
TABLES=$($PYTHON -c "import json,sys; p=sorted(sys.argv[1:], key=lambda f: json.load(open(f))['meta']['test']['file_bpp']); print(' '.join(p[::2]))" src/j4d/zoo/mobilenet_v2/*.json)
$J4D eval $TABLES -m mobilenet_v2 -m efficientnet_lite0 -m efficientnet_lite2 --encoder rd \
    --encoder rd-aware --qualities 50 --accuracies qf:50 --rates 0.3,0.5,1,2,3 -j 2 -q -o $IA
for m in mobilenet_v2 efficientnet_lite0 efficientnet_lite2; do
    guides=()
    [[ $m != efficientnet_lite2 ]] && guides=(
        "rd, MobileNetV2's Fisher weights (lambda 32)=results/imagenet-mobilenetv2-model-aware:j4d-rd-guided1:top1[$m]"
        "rd, EfficientNet-Lite0's Fisher weights (lambda 32)=results/imagenet-efficientnetlite0-model-aware:j4d-rd-guided1:top1[$m]")
    for rate in file_bpp scan_bpp; do
        $PYTHON scripts/plot_fronts.py --rate $rate --rates 0.3,0.5,1,2,3 --ylabel "top1 ($m)" \
            --title "imagenet-val, 1300 images, $m: block weights from the image" \
            -o $IA/fronts_top1_${m}_${rate}_vs_jpeg "default JPEG=results/imagenet-universal-opts:jpeg:top1[$m]" \
            "rd=$IA:j4d-rd:top1[$m]" "rd-aware (predictor)=$IA:j4d-rd-aware:top1[$m]" "${guides[@]}"
        $PYTHON scripts/plot_fronts.py --rate $rate --rates 0.3,0.5,1,2,3 --ylabel "top1 ($m)" \
            --title "imagenet-val, 1300 images, $m: block weights from the image" \
            -o $IA/fronts_top1_${m}_${rate}_vs_rd "rd=$IA:j4d-rd:top1[$m]" \
            "rd-aware (predictor)=$IA:j4d-rd-aware:top1[$m]" \
            "default JPEG=results/imagenet-universal-opts:jpeg:top1[$m]"
    done
    $PYTHON scripts/per_table.py $IA:j4d-rd $IA:j4d-rd-aware --metric "top1[$m]" \
        --json $IA/per_table_top1_$m.json
done
