"""graphs: heterogeneous E/I/X networks as sparse arrays, drawn from the theory's kernels."""

from .interop import from_networkx, from_sparse, to_networkx
from .io import load_network, save_network
from .network import Network, transpose_structure
from .sample import sample_fixed_indegree, sample_network, sample_prescribed_indegree
from .spatial import connection_probability_by_distance, sample_spatial_network
from .stats import BinComparison, degree_statistics, kernel_statistics, label_bins

__all__ = [
    "Network", "transpose_structure",
    "sample_network", "sample_fixed_indegree", "sample_prescribed_indegree",
    "sample_spatial_network", "connection_probability_by_distance",
    "degree_statistics", "kernel_statistics", "label_bins", "BinComparison",
    "save_network", "load_network",
    "to_networkx", "from_networkx", "from_sparse",
]
