"""The file names of the five bundled seed articles, for tests that parametrize over them."""
SEED_IDS = [
    "000_cad178f2f31bd5d0.txt",
    "001_4c3f5a124836c178.txt",
    "002_55bd9ca71670d804.txt",
    "003_747ace748feff19e.txt",
    "004_62723c32f6056b4d.txt",
]
