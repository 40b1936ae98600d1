"""companion — the package behind *Symmetry and Structure in Deep Learning*.

Core (shared by every chapter):

* :mod:`companion.utils` — device choice, seeding, progress bars, run scale;
* :mod:`companion.checks` — argument validation with clear errors;
* :mod:`companion.groups` — groups, representations, equivariance error;
* :mod:`companion.viz` — matplotlib style, plotly slider figures, live widgets;
* :mod:`companion.datasets` — full data sets on demand (only at ``COMPANION_SCALE=full``).

One module or subpackage per chapter builds on the core and on libraries only,
never on another chapter's module.
"""

from . import checks, groups, utils, viz
from .utils import best_device, pick, progress, seed_everything

__version__ = "0.1.0"
__all__ = ["checks", "groups", "utils", "viz", "best_device", "pick", "progress", "seed_everything"]
