"""C kernels against the numpy reference (slimgen.ref), bit for bit, through cffi."""
