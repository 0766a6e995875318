"""partnerdesk: the technical support benefits of a partner program."""
