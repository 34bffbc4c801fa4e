/**
 * The remote shell rsync runs (`-e`) when its stream goes through the slave channel: it
 * joins the running session on its socket and becomes the pipe. rsync calls it as it calls
 * ssh, `perl rsh-join.pl SOCKET [-l USER] HOST rsync --server …`; the session has the slave
 * gsyncd run that command (checked there) and carries its bytes. No shell and no SSH
 * session start. Perl, as the inotify helper (perl-base is essential on Debian and
 * Ubuntu), with its core modules only: it starts in a few milliseconds, where a Node
 * program took 70 ms, and every batch pays it.
 *
 * It sends one header line, `{"words":[…]}` (JSON), waits for the session's `ready` frame,
 * then copies its stdin to the socket as it comes and writes the session's frames (see
 * rsh-frames.ts): stdout, stderr, and the exit status it exits with.
 */
export const RSH_JOIN_PERL = String.raw`
use strict;
use warnings;
use Socket;
my ($path, @args) = @ARGV;
splice(@args, 0, 2) if @args && $args[0] eq '-l';
shift @args;
binmode STDIN; binmode STDOUT; binmode STDERR;
socket(my $s, PF_UNIX, SOCK_STREAM, 0) or die "gsyncd: socket: $!\n";
if (!connect($s, pack_sockaddr_un($path))) { print STDERR "gsyncd: cannot join the session for an rsync run: $!\n"; exit 255; }
binmode $s;
sub js { my $w = shift; $w =~ s/(["\\])/\\$1/g; $w =~ s/([\x00-\x1f])/sprintf("\\u%04x", ord $1)/ge; return "\"$w\""; }
sub put { my ($fh, $d) = @_; while (length $d) { my $n = syswrite($fh, $d); if (!defined $n) { next if $!{EINTR}; exit 255; } substr($d, 0, $n) = ''; } }
put($s, '{"words":[' . join(',', map { js($_) } @args) . "]}\n");
my ($buf, $ready, $in) = ('', 0, 1);
while (1) {
  my $rin = '';
  vec($rin, fileno($s), 1) = 1;
  vec($rin, fileno(STDIN), 1) = 1 if $ready && $in;
  my $got = select(my $rout = $rin, undef, undef, undef);
  next if $got < 0 && $!{EINTR};
  exit 255 if $got < 0;
  if ($ready && $in && vec($rout, fileno(STDIN), 1)) {
    my $n = sysread(STDIN, my $d, 262144);
    if (!defined $n) { next if $!{EINTR}; exit 255; }
    if ($n == 0) { $in = 0; shutdown($s, 1); } else { put($s, $d); }
  }
  if (vec($rout, fileno($s), 1)) {
    my $n = sysread($s, $buf, 262144, length $buf);
    if (!defined $n) { next if $!{EINTR}; exit 255; }
    exit 255 if $n == 0;
    while (length($buf) >= 5) {
      my ($kind, $len) = unpack('C N', $buf);
      last if length($buf) < 5 + $len;
      my $payload = substr($buf, 5, $len);
      substr($buf, 0, 5 + $len) = '';
      if ($kind == 0) { $ready = 1; }
      elsif ($kind == 1) { put(\*STDOUT, $payload); }
      elsif ($kind == 2) { put(\*STDERR, $payload); }
      elsif ($kind == 3) { exit(int($payload)); }
    }
  }
}
`;
