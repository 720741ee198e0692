"""The web UI of access: the login pages, the account page, and the session check every page passes."""
