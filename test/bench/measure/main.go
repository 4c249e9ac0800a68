// Command measure runs a command and writes its wall time, CPU time, peak
// RSS and exit code, as JSON, to the file that $CREDROTATE_BENCH_MEASURE
// names. The benchmark harness (test/bench) starts every measured process
// through it.
//
// It exists because Linux charges a child the high-water RSS of the address
// space it was exec'd from (ru_maxrss survives exec, and Go starts children
// with vfork, sharing the parent's memory until exec): a command started
// straight from the harness, which holds a 1,000-key world in memory, would
// report the harness's peak as its own. Started from this small process, a
// command's ru_maxrss is its own peak, or this wrapper's couple of MiB when
// that is larger.
//
//	CREDROTATE_BENCH_MEASURE=out.json measure CMD [ARG]...
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"
)

const envMeasure = "CREDROTATE_BENCH_MEASURE"

func main() {
	out := os.Getenv(envMeasure)
	if out == "" {
		fmt.Fprintln(os.Stderr, "measure: set "+envMeasure+" to the file to write")
		os.Exit(2)
	}
	os.Exit(run(out, os.Args[1:]))
}

// measured is what the wrapper writes.
type measured struct {
	Wall     time.Duration `json:"wall"`
	CPU      time.Duration `json:"cpu"`
	MaxRSS   int64         `json:"maxRSS"`
	ExitCode int           `json:"exitCode"`
}

// measureMain runs args and writes a measured value to out. It forwards
// SIGTERM and SIGINT to the command and kills it 5 seconds later if it has
// not stopped by then.
func run(out string, args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "measure: no command")
		return 2
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	for _, kv := range os.Environ() {
		if len(kv) > len(envMeasure) && kv[:len(envMeasure)+1] == envMeasure+"=" {
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "measure:", err)
		return 127
	}
	done := make(chan struct{})
	go func() {
		select {
		case s := <-sigs:
			_ = cmd.Process.Signal(s)
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				_ = cmd.Process.Kill()
			}
		case <-done:
		}
	}()
	err := cmd.Wait()
	m := measured{Wall: time.Since(start), ExitCode: cmd.ProcessState.ExitCode()}
	close(done)
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		fmt.Fprintln(os.Stderr, "measure:", err)
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		m.MaxRSS = ru.Maxrss * 1024 // KiB on Linux
		m.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	b, _ := json.Marshal(m)
	if err := os.WriteFile(out, b, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "measure:", err)
		return 1
	}
	if m.ExitCode < 0 {
		return 1
	}
	return m.ExitCode
}
