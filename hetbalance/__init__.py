"""hetbalance: the command line and result files of the hetbalance toolkit.

The top of the layering (``meanfield`` <- ``graphs`` <- ``validation`` <- ``paper_figures``
<- ``hetbalance``): ``hetbalance solve|simulate|sweep|figures|presets`` (also
``python -m hetbalance``), and ``load_result`` for the JSON/npz files it writes. Model
files are read and written by ``meanfield.modelfile``. Units: s, mV, Hz.
"""

from meanfield import __version__

from .cli import main
from .results import ResultVersionWarning, StoredResult, load_result

__all__ = ["main", "load_result", "StoredResult", "ResultVersionWarning", "__version__"]
