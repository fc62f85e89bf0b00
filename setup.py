"""The package list, which pyproject.toml cannot state: every package under qa/ and
embeddings/, and qa.seeds, which is the top-level seeds/ folder (the articles' one source)
installed as qa/seeds/ so a regular install answers out of the box (qa.settings.default_corpus)."""
from setuptools import find_namespace_packages, setup

setup(packages=find_namespace_packages(include=["qa", "qa.*", "qa_*", "embeddings", "embeddings.*"]) + ["qa.seeds"],
      package_dir={"qa.seeds": "seeds"})
