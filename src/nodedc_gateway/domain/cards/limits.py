"""The gateway's fixed ceilings on what one card or one call may hold."""

#: The largest HTML one block write may carry.
MAX_BLOCK_HTML = 100_000
#: The longest checker text anyone may add, whatever a project's rules say.
MAX_CHECKER_TEXT = 1_000
#: The most checker ids (or texts) one call may name.
MAX_CHECKERS_PER_CALL = 100
#: The most checkers a project's rules may allow on one card.
MAX_CHECKERS_PER_CARD = 1_000
