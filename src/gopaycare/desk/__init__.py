"""The help desk: agents, roles and (next) conversations, tickets, SLAs and routing."""
