"""Administration: the operator console and everything a tenant admin or office lead sets up.

The top layer (crypto < whistle < intake < chat < casework < console): it reads and changes
tenants, offices, memberships, questionnaires and settings through the services of the layers
below, and never sees report content.
"""
