"""Administration: approvals, staff invites, links and districts."""
