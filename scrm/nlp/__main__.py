"""Run the ``nlp`` commands as ``python -m scrm.nlp``."""

from scrm.nlp.commands import nlp

if __name__ == "__main__":
    nlp()
