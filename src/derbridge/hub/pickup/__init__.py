"""Scheduled pickup: files a sender only drops somewhere (a directory, SFTP, S3-compatible storage), taken into
the same file relay as files PUT to the hub."""
