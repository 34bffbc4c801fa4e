/**
 * The inotify helper: a few lines of Perl that own one inotify descriptor, add and remove
 * watches on request, and pass the kernel's event records through unchanged. Node cannot make
 * the inotify system calls itself, and the alternatives fall short (docs/architecture.md):
 * @parcel/watcher keeps every file of the tree in memory and drops the rename pairing;
 * Node's fs.watch drops the queue-overflow event; inotifywait cannot be told to add or
 * remove a watch once started, and keeps reporting a directory moved out of the tree under
 * its old path. perl-base is essential on Debian and Ubuntu (their slim container images
 * included); the system call numbers come from the table below, as perl-base ships no
 * syscall.ph.
 *
 * Protocol, all integers big-endian:
 *   to the helper    "a" ID(u32) MASK(u32) PATH NUL   add a watch on PATH (bytes)
 *                    "r" WD(u32)                      remove a watch
 *   from the helper  "A" ID(u32) WD(i32) ERRNO(u32)   the add's answer (WD -1: failed)
 *                    "E" LEN(u32) RECORDS             what read() gave, in native byte order
 * The helper exits when its stdin closes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dieWithParent } from '../sync/no-orphans.js';

/** inotify_init1, inotify_add_watch, inotify_rm_watch, by process.arch. */
const SYSCALLS: Readonly<Record<string, readonly [number, number, number]>> = {
  x64: [294, 254, 255],
  ia32: [332, 292, 293],
  arm64: [26, 27, 28],
  riscv64: [26, 27, 28],
  loong64: [26, 27, 28],
  arm: [360, 317, 318],
  ppc64: [318, 276, 277],
  s390x: [324, 285, 286],
};

export const inotifySyscalls = (arch: string): readonly [number, number, number] | undefined => SYSCALLS[arch];

const PROGRAM = String.raw`
use strict;
my ($init, $add, $rm) = @ARGV;
my $fd = syscall($init + 0, 0);
die "inotify_init1: $!\n" if $fd < 0;
open(my $ino, '<&=', $fd) or die "inotify descriptor: $!\n";
binmode STDIN; binmode STDOUT;
my $rin = '';
vec($rin, fileno(STDIN), 1) = 1;
vec($rin, $fd, 1) = 1;
my $cmd = '';
sub put { my $s = shift; while (length $s) { my $n = syswrite(STDOUT, $s); die "write: $!\n" unless defined $n; substr($s, 0, $n) = ''; } }
while (1) {
  my $n = select(my $rout = $rin, undef, undef, undef);
  if ($n < 0) { next if $!{EINTR}; die "select: $!\n"; }
  if (vec($rout, $fd, 1)) {
    my $got = sysread($ino, my $ev, 262144);
    if (!defined $got) { next if $!{EINTR} || $!{EAGAIN}; die "read: $!\n"; }
    put('E' . pack('N', $got) . $ev);
  }
  if (vec($rout, fileno(STDIN), 1)) {
    my $got = sysread(STDIN, $cmd, 65536, length $cmd);
    if (!defined $got) { next if $!{EINTR}; die "stdin: $!\n"; }
    exit 0 if $got == 0;
    while (length $cmd) {
      my $op = substr($cmd, 0, 1);
      if ($op eq 'a') {
        my $end = index($cmd, "\0", 9);
        last if $end < 0;
        my ($id, $mask) = unpack('N N', substr($cmd, 1, 8));
        my $path = substr($cmd, 9, $end - 9);
        my $wd = syscall($add + 0, $fd, $path, $mask + 0);
        put('A' . pack('N l> N', $id, $wd, $wd < 0 ? $! + 0 : 0));
        substr($cmd, 0, $end + 1) = '';
      } elsif ($op eq 'r') {
        last if length($cmd) < 5;
        syscall($rm + 0, $fd, unpack('N', substr($cmd, 1, 4)) + 0);
        substr($cmd, 0, 5) = '';
      } else {
        die "bad command\n";
      }
    }
  }
}
`;

/**
 * Starts the helper with the given system call numbers; it dies with gsyncd. `perl` is
 * looked up on the PATH.
 */
export function spawnInotifyHelper(calls: readonly [number, number, number]): ChildProcess {
  return spawn(...dieWithParent('perl', ['-e', PROGRAM, ...calls.map(String)]), {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}
