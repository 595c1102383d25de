/** TCP header flag bits (RFC 9293 §3.1), as PacketView.tcpFlags carries them. */
export const TCP_FLAG_FIN = 0x01;
export const TCP_FLAG_SYN = 0x02;
export const TCP_FLAG_RST = 0x04;
export const TCP_FLAG_ACK = 0x10;
