"""The unified customer profile: identities across platforms, attributes, consent."""
