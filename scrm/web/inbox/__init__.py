"""The web inbox: pages, fragments and forms over `scrm.inbox`."""
