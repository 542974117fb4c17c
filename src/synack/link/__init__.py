"""Links that carry synack's packets to real networks: TAP/TUN devices, the interface layer (ARP, NDP, ICMP) and network-namespace helpers."""
