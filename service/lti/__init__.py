"""LTI 1.3: the service as a tool that LMS platforms (Moodle, Canvas) launch. JOSE by jwcrypto, nothing hand-made.

keys (the tool's own key pair), platform_keys (platforms' JWKS, fetched off the event loop and cached),
launch (what an id_token must say to be believed), launchers (who a launch signs in), routes (the endpoints),
cli (`grader lti`). Records are in service/store/lti.py.
"""
