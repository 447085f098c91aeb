"""Running untrusted student code: the child program (runner), the isolation strategies and
the parent's side of a sandboxed session."""
