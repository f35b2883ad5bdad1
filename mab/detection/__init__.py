"""Project detection: what a repository holds (Dockerfiles, compose and bake files, lockfiles,
.gitignore, the git remote), read into the pure `project` model the generators take."""
