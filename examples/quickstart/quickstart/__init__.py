"""Pre- and post-processing for the quickstart breast-cancer classifier."""
