#!/usr/bin/perl
# PID 1 of the cg2vm guest (see test/vm/cg2vm): makes the guest's own /proc, /sys, /dev, /run,
# /tmp and cgroup2 mounts, runs the command, relays its output to the consoles the host reads,
# writes its exit status to the control directory and powers off. Perl because perl-base is
# on every Debian host and starts fast under UML (a shell would fork a process per mount).
# It must never exit: PID 1 exiting panics the kernel. The syscall numbers are x86-64's (a
# UML guest has its host's architecture; guest.ts refuses other hosts).
use strict;
use warnings;

# Until the guest mounts its own /proc, /sys, /dev and /run, those paths are the HOST's
# (through hostfs): nothing may be written under them before its mount succeeded.
my $control = $ENV{cg2vm_control} // '';
$ENV{PATH} = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
$| = 1;

my %SYS = (mount => 165, sync => 162, reboot => 169, setsid => 112, exit_group => 231, finit_module => 313);
my %MS = (nosuid => 2, nodev => 4, noexec => 8, bind => 4096);

sub log_line { print STDERR "cg2vm-init: @_\n" }   # stderr is the kernel console (the log file)

sub read_file {
  my ($path) = @_;
  open(my $fh, '<', $path) or return undef;
  local $/;
  return scalar <$fh>;
}

sub write_file {
  my ($path, $text) = @_;
  open(my $fh, '>', $path) or return 0;
  print $fh $text;
  return close($fh);
}

sub power_off {
  syscall($SYS{sync});
  syscall($SYS{reboot}, 0xfee1dead, 0x28121969, 0x4321fedc, 0);   # LINUX_REBOOT_CMD_POWER_OFF
  sleep 3600 while 1;
}

# Reports why the guest cannot run the command (to the host, through the control directory
# shared by hostfs) and stops.
sub give_up {
  log_line("setup failed: @_");
  write_file("$control/failure", "@_\n") if $control ne '';
  power_off();
}

sub mount_fs {
  my ($source, $target, $type, $flags, $data) = @_;
  return if syscall($SYS{mount}, $source, $target, $type, $flags, $data // 0) == 0;
  give_up("mount $type on $target: $!");
}

# `init --run-command`: started by systemd (--systemd) as the unit cg2vm.service once the
# setup below has run in PID 1 and PID 1 has become systemd: run the command and power off.
if (($ARGV[0] // '') eq '--run-command') {
  $control = '/run/cg2vm';
  run_command();
}

give_up('no cg2vm_control in the environment') unless $control =~ m{^/};
mount_fs('proc', '/proc', 'proc', $MS{nosuid} | $MS{nodev} | $MS{noexec});
mount_fs('sysfs', '/sys', 'sysfs', $MS{nosuid} | $MS{nodev} | $MS{noexec});
# The kernel may have mounted devtmpfs on /dev already (CONFIG_DEVTMPFS_MOUNT).
mount_fs('devtmpfs', '/dev', 'devtmpfs', $MS{nosuid}, 'mode=0755')
  unless (read_file('/proc/self/mounts') // '') =~ m{^\S+ /dev devtmpfs }m;
mkdir($_, 0755) for '/dev/pts', '/dev/shm';
mount_fs('devpts', '/dev/pts', 'devpts', $MS{nosuid} | $MS{noexec}, 'newinstance,ptmxmode=0666,mode=0620');
symlink('pts/ptmx', '/dev/ptmx') unless -e '/dev/ptmx';
mount_fs('tmpfs', '/dev/shm', 'tmpfs', $MS{nosuid} | $MS{nodev}, 'mode=1777');
symlink('/proc/self/fd', '/dev/fd') unless -e '/dev/fd';
mount_fs('tmpfs', '/run', 'tmpfs', $MS{nosuid} | $MS{nodev}, 'mode=0755');
# The control directory usually lives in /tmp, which gets a tmpfs of its own below.
mkdir('/run/cg2vm', 0700);
mount_fs($control, '/run/cg2vm', 'none', $MS{bind});
$control = '/run/cg2vm';


# /tmp: the guest's own tmpfs (overlayfs upper dirs, FIFOs and sockets need a real local
# filesystem), with the host's /tmp/<dir> holding the cwd, $TMPDIR or a --share path bound
# back in.
mkdir('/run/host-tmp', 0700);
mount_fs('/tmp', '/run/host-tmp', 'none', $MS{bind});
mount_fs('tmpfs', '/tmp', 'tmpfs', 0, 'mode=1777');
my %shared;
for my $path (split /\0/, read_file("$control/shared") // '') {
  next unless $path =~ m{^/tmp/([^/]+)} && !$shared{$1}++;
  my $top = $1;
  next unless -d "/run/host-tmp/$top";
  mkdir("/tmp/$top", 0700);
  mount_fs("/run/host-tmp/$top", "/tmp/$top", 'none', $MS{bind});
}

# cgroup v2 with every controller the kernel has enabled for the root's children.
mount_fs('cgroup2', '/sys/fs/cgroup', 'cgroup2', $MS{nosuid} | $MS{nodev} | $MS{noexec}, 'nsdelegate');
my @controllers = split ' ', read_file('/sys/fs/cgroup/cgroup.controllers') // '';
for my $controller (@controllers) {
  write_file('/sys/fs/cgroup/cgroup.subtree_control', "+$controller")
    or give_up("enabling the $controller controller: $!");
}

# Kernel modules asked for with --modules, dependencies first (from modules.dep).
my $release = read_file('/proc/sys/kernel/osrelease') // '';
chomp $release;
my $module_dir = "/usr/lib/uml/modules/$release";
my %module_deps;
my %loaded = map { ((split ' ')[0], 1) } split /\n/, read_file('/proc/modules') // '';
sub module_name { my ($file) = @_; $file =~ s{.*/}{}; $file =~ s{\.ko(\.\w+)?$}{}; $file =~ tr/-/_/; $file }
sub load_module {
  my ($name) = @_;
  return if $loaded{$name}++;
  my $entry = $module_deps{$name} or give_up("no kernel module $name in $module_dir");
  load_module($_) for reverse @{ $entry->{deps} };
  open(my $fh, '<', "$module_dir/$entry->{file}") or give_up("open $module_dir/$entry->{file}: $!");
  my $params = '';
  syscall($SYS{finit_module}, fileno($fh), $params, 0) == 0 or $!{EEXIST} or give_up("loading module $name: $!");
}
my @modules = split ' ', read_file("$control/modules") // '';
if (@modules) {
  for (split /\n/, read_file("$module_dir/modules.dep") // give_up("no $module_dir/modules.dep")) {
    my ($file, $deps) = split /:\s*/, $_, 2;
    $module_deps{ module_name($file) } = { file => $file, deps => [map { module_name($_) } split ' ', $deps // ''] };
  }
  $loaded{ module_name($_) } = 1 for split /\n/, read_file("$module_dir/modules.builtin") // '';
  load_module(module_name($_)) for @modules;
}

write_file('/proc/sys/kernel/hostname', 'cg2vm');

boot_systemd() if -e "$control/systemd";
run_command();

# --systemd: PID 1 becomes systemd, with only the units below: cg2vm.target wants
# cg2vm.service, which runs this script with --run-command. The guest shares the host's
# files: generators (which would write units for the host's fstab, gettys, ...) are hidden
# under empty tmpfs mounts and /var is the guest's own, so systemd writes nothing of the host's.
sub boot_systemd {
  for my $dir ('/usr/lib/systemd/system-generators', '/usr/local/lib/systemd/system-generators', '/etc/systemd/system-generators') {
    mount_fs('tmpfs', $dir, 'tmpfs', $MS{nosuid} | $MS{nodev}, 'mode=0755') if -d $dir;
  }
  mount_fs('tmpfs', '/var', 'tmpfs', $MS{nosuid} | $MS{nodev}, 'mode=0755');
  symlink('/run', '/var/run');
  symlink('/run/lock', '/var/lock');
  mkdir($_, 0755) for '/var/tmp', '/var/lib', '/var/log', '/run/systemd', '/run/systemd/system';
  write_file('/run/systemd/system/cg2vm.target', "[Unit]\nDescription=cg2vm command\nDefaultDependencies=no\nWants=cg2vm.service\n")
    or give_up("writing cg2vm.target: $!");
  write_file('/run/systemd/system/cg2vm.service', join("\n",
    '[Unit]', 'Description=cg2vm command', 'DefaultDependencies=no',
    '[Service]', 'Type=exec', 'ExecStart=/usr/bin/perl /run/cg2vm/init --run-command',
    'StandardInput=null', 'StandardOutput=journal+console', 'StandardError=inherit', ''))
    or give_up("writing cg2vm.service: $!");
  log_line('exec systemd');
  { no warnings 'exec'; exec { '/lib/systemd/systemd' } 'systemd', '--unit=cg2vm.target', '--log-target=console', '--show-status=no'; }
  give_up("exec /lib/systemd/systemd: $!");
}

sub run_command {
  my $cwd = read_file("$control/cwd") // give_up("cannot read $control/cwd");
  my @argv = split /\0/, read_file("$control/argv") // '', -1;   # keeps empty arguments
  pop @argv;                                                       # after the last NUL
  give_up('no command') unless @argv;
  my %env = map { split(/=/, $_, 2) } grep { /=/ } split /\0/, read_file("$control/env") // '';

  # The consoles tty1 and tty2 carry the command's stdout and stderr to the host: switch off
  # output post-processing (\n -> \r\n) and echo. struct termios starts with four u32 flags.
  sub raw_console {
    my ($path) = @_;
    open(my $fh, '>', $path) or give_up("open $path: $!");
    my $termios = "\0" x 64;
    if (ioctl($fh, 0x5401, $termios)) {   # TCGETS
      my ($iflag, $oflag, $cflag, $lflag, $rest) = unpack('L4 a*', $termios);
      $oflag &= ~0x1;                      # OPOST
      $lflag &= ~(0x8 | 0x2 | 0x1);        # ECHO ICANON ISIG
      ioctl($fh, 0x5402, pack('L4 a*', $iflag, $oflag, $cflag, $lflag, $rest)) or give_up("TCSETS $path: $!");
    }
    binmode $fh;
    return $fh;
  }
  my $console_out = raw_console('/dev/tty1');
  my $console_err = raw_console('/dev/tty2');

  pipe(my $out_read, my $out_write) or give_up("pipe: $!");
  pipe(my $err_read, my $err_write) or give_up("pipe: $!");
  log_line("running: @argv");
  my $pid = fork() // give_up("fork: $!");
  if ($pid == 0) {
    syscall($SYS{setsid});
    open(STDIN, '<', '/dev/null');
    open(STDOUT, '>&', $out_write);
    open(STDERR, '>&', $err_write);
    close($_) for $out_read, $err_read, $out_write, $err_write, $console_out, $console_err;
    %ENV = (%env, CG2VM => '1');
    chdir($cwd) or do { print STDERR "cg2vm: cd $cwd in the guest: $!\n"; syscall($SYS{exit_group}, 125) };
    { no warnings 'exec'; exec { $argv[0] } @argv; }
    print STDERR "cg2vm: $argv[0]: $!\n";
    syscall($SYS{exit_group}, $!{ENOENT} ? 127 : 126);
  }
  close($_) for $out_write, $err_write;

  # Relay output and reap every child (orphans are ours as PID 1) until the command has exited
  # and its output is drained; a background process keeping the pipes open gets 2 s.
  my %relays = (fileno($out_read) => [$out_read, $console_out], fileno($err_read) => [$err_read, $console_err]);
  my ($status, $drain_deadline);
  while (1) {
    while ((my $child = waitpid(-1, 1)) > 0) {   # WNOHANG
      next unless $child == $pid;
      $status = ($? & 127) ? 128 + ($? & 127) : $? >> 8;
      $drain_deadline = time + 2;
    }
    last if defined $status && (!%relays || time > $drain_deadline);
    my $readable = '';
    vec($readable, $_, 1) = 1 for keys %relays;
    if (!%relays) {
      select(undef, undef, undef, 0.05);
      next;
    }
    next unless (select($readable, undef, undef, 0.1) // 0) > 0;
    for my $fd (keys %relays) {
      next unless vec($readable, $fd, 1);
      my ($from, $to) = @{ $relays{$fd} };
      my $n = sysread($from, my $chunk, 65536);
      if (!$n) {
        delete $relays{$fd};
        next;
      }
      for (my $done = 0; $done < $n;) {
        my $written = syswrite($to, $chunk, $n - $done, $done) // last;
        $done += $written;
      }
    }
  }
  log_line("command exited with status $status");
  close($_) for $console_out, $console_err;   # flushes what the consoles still hold
  write_file("$control/status", "$status\n") or log_line("cannot write $control/status: $!");
  power_off();
}
