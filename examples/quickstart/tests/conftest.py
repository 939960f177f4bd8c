import sys
from pathlib import Path

# The example's package sits next to tests/; make it importable however pytest is run.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
