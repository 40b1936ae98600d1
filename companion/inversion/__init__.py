"""Out-of-domain GAN inversion via invertibility decomposition (Yang, Xu & Chen, ICCV 2023).

A world small enough for a CPU and where the answer is known:

* :mod:`~companion.inversion.faces` — seeded procedural faces with out-of-domain
  additions and their exact ground-truth masks;
* :mod:`~companion.inversion.generator` — a small DCGAN trained on in-domain faces only,
  its inversion encoder, and the shipped weights
  (:mod:`~companion.inversion.train_generator` rebuilds them);
* :mod:`~companion.inversion.invert` — optimisation-based inversion, editing directions;
* :mod:`~companion.inversion.align` — warping by a flow field;
* :mod:`~companion.inversion.detector` — the invertibility detector learned jointly with
  the alignment, iterated, and blending;
* :mod:`~companion.inversion.baseline` — the thresholded reconstruction-error mask;
* :mod:`~companion.inversion.metrics` — mask IoU, region PSNR / SSIM.
"""

from .align import flow_smoothness, flow_warp
from .baseline import Calibration, baseline_mask, calibrate_threshold, error_map
from .detector import (
    DETECTORS,
    Decomposition,
    DetectorTrainResult,
    InvertibilityDetector,
    blend,
    detector_fingerprint,
    detector_loss,
    load_detector,
    train_detector,
)
from .faces import HELD_OUT_KINDS, OOD_KINDS, TRAIN_KINDS, FaceBatch, render_faces
from .generator import (
    IMAGE_SIZE,
    LATENT_DIM,
    WEIGHTS_DIR,
    Discriminator,
    Encoder,
    Generator,
    fingerprint,
    load_encoder,
    load_fingerprint,
    load_generator,
)
from .invert import InversionResult, attribute_direction, invert
from .metrics import REGIONS, mask_iou, paired_bootstrap, region_psnr, region_ssim

__all__ = [
    "REGIONS",
    "IMAGE_SIZE",
    "LATENT_DIM",
    "WEIGHTS_DIR",
    "Discriminator",
    "flow_smoothness",
    "flow_warp",
    "baseline_mask",
    "Calibration",
    "calibrate_threshold",
    "error_map",
    "Decomposition",
    "DetectorTrainResult",
    "InvertibilityDetector",
    "blend",
    "detector_loss",
    "detector_fingerprint",
    "train_detector",
    "DETECTORS",
    "load_detector",
    "OOD_KINDS",
    "TRAIN_KINDS",
    "HELD_OUT_KINDS",
    "FaceBatch",
    "render_faces",
    "Encoder",
    "Generator",
    "fingerprint",
    "load_encoder",
    "load_fingerprint",
    "load_generator",
    "InversionResult",
    "attribute_direction",
    "invert",
    "mask_iou",
    "paired_bootstrap",
    "region_psnr",
    "region_ssim",
]
