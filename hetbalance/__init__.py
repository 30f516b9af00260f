"""hetbalance: the command line and result files of the hetbalance toolkit.

The top of the layering (``meanfield`` <- ``graphs`` <- ``validation`` <- ``paper_figures``
<- ``hetbalance``): ``hetbalance solve|simulate|sweep|figures|presets`` (also
``python -m hetbalance``), ``load_result`` for the JSON/npz files it writes, and the TOML
model files (``load_model_file``; ``hetbalance.modelfile`` also writes them). Units: s,
mV, Hz.
"""

from meanfield import __version__

from .cli import main
from .modelfile import ModelFile, ModelFileError, load_model_file
from .results import ResultVersionWarning, StoredResult, load_result

__all__ = ["main", "load_result", "StoredResult", "ResultVersionWarning", "load_model_file",
           "ModelFile", "ModelFileError", "__version__"]
