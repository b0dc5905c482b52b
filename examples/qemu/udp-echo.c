/* The guest's UDP echo: every datagram to the port goes back to its sender as it came. Built
 * static on the host by build-guest.sh, since the guest has nothing but busybox. */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

int main(int argc, char **argv) {
  int port = argc > 1 ? atoi(argv[1]) : 7;
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  /* A TCG guest runs slowly for a while after a migration (its code is translated afresh):
   * room for a few hundred ms of a 1,000 packets/s stream (init raises rmem_max for it). */
  int buffer_bytes = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer_bytes, sizeof buffer_bytes);
  struct sockaddr_in self = {.sin_family = AF_INET, .sin_port = htons(port)};
  if (fd < 0 || bind(fd, (struct sockaddr *)&self, sizeof self) < 0) {
    perror("udp-echo");
    return 1;
  }
  for (;;) {
    char buffer[2048];
    struct sockaddr_in peer;
    socklen_t length = sizeof peer;
    ssize_t n = recvfrom(fd, buffer, sizeof buffer, 0, (struct sockaddr *)&peer, &length);
    if (n >= 0) sendto(fd, buffer, n, 0, (struct sockaddr *)&peer, length);
  }
}
