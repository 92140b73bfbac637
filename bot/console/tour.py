"""The scripted tour (`make demo`): filled in below."""

TOUR = """\
# Registration
/start
1
/quit
"""
