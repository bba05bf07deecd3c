"""HTTP plumbing shared by the three systems: outbound client, auth, problem+json, serving."""
