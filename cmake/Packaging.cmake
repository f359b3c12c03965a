# Installed files besides the programs, and the CPack DEB package (issue 10).
