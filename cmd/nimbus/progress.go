package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/nimbusfw/nimbus/pkg/nimbus"
)

// progressView renders deploy progress: one line per step and per stack
// event with the elapsed time. On a terminal a spinner shows that the
// command is alive between events; elsewhere (CI, pipes) output is plain.
type progressView struct {
	w       io.Writer
	start   time.Time
	mu      sync.Mutex
	spin    bool
	stop    chan struct{}
	spinned bool
}

func newProgressView(w io.Writer) *progressView {
	v := &progressView{w: w, start: time.Now()}
	if f, ok := w.(*os.File); ok && isTerminal(f) {
		v.spin = true
		v.stop = make(chan struct{})
		go v.spinner()
	}
	return v
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0 && os.Getenv("CI") == ""
}

func (v *progressView) elapsed() string {
	return fmt.Sprintf("%5.1fs", time.Since(v.start).Seconds())
}

func (v *progressView) println(line string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.spinned {
		fmt.Fprint(v.w, "\r\033[K")
		v.spinned = false
	}
	fmt.Fprintln(v.w, line)
}

// Step implements nimbus.Reporter.
func (v *progressView) Step(msg string) { v.println(v.elapsed() + "  " + msg) }

// StackEvent implements nimbus.Reporter.
func (v *progressView) StackEvent(e nimbus.StackEvent) {
	line := fmt.Sprintf("%s  %-28s %-40s %s", v.elapsed(), e.Status, e.Type, e.LogicalID)
	if e.Failed() && e.Reason != "" {
		line += "\n         reason: " + e.Reason
	}
	v.println(line)
}

func (v *progressView) spinner() {
	frames := []rune("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")
	t := time.NewTicker(120 * time.Millisecond)
	defer t.Stop()
	for i := 0; ; i++ {
		select {
		case <-v.stop:
			return
		case <-t.C:
			v.mu.Lock()
			fmt.Fprintf(v.w, "\r%c %s", frames[i%len(frames)], v.elapsed())
			v.spinned = true
			v.mu.Unlock()
		}
	}
}

// Close stops the spinner and clears its line.
func (v *progressView) Close() {
	if v.spin {
		close(v.stop)
		v.mu.Lock()
		if v.spinned {
			fmt.Fprint(v.w, "\r\033[K")
		}
		v.mu.Unlock()
	}
}
