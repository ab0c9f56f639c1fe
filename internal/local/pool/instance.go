package pool

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nimbusfw/nimbus/internal/local/runtimeapi"
	"github.com/nimbusfw/nimbus/internal/local/runtimes"
)

// maxCapture bounds the log tail kept for one invocation's Result.Logs.
const maxCapture = 4096

// instance is one runtime process with its own Runtime API endpoint.
type instance struct {
	fn      *function
	gen     uint64
	srv     *runtimeapi.Server
	cmd     *exec.Cmd
	started time.Time
	// lastUsed is written only while the instance is owned by one
	// invocation and read by the reaper under fn.mu after release.
	lastUsed time.Time
	// readyTime is when the runtime first polled; set by the invocation
	// that started the instance.
	readyTime time.Time
	// rssMB caches the peak memory read at rssAt.
	rssMB int
	rssAt time.Time

	exited  chan struct{}
	waitErr error // set before exited closes
	// stopping closes when stop begins.
	stopping chan struct{}

	// rpcReady closes once rpcClient holds a connection that answered
	// Function.Ping; nil when the launch cannot speak aws-lambda-go's RPC.
	rpcReady  chan struct{}
	rpcClient atomic.Pointer[rpcConn]
	// rpc is set by the invocation that saw the instance ready over RPC;
	// nil means the Runtime API serves this instance.
	rpc *rpcConn

	stopOnce sync.Once
	output   sync.WaitGroup

	// pipes are the read ends of stdout and stderr.
	pipes [2]*os.File
	// pumped is signalled after the pumps handle a chunk of output.
	pumped chan struct{}

	captureMu sync.Mutex
	capturing bool
	capture   []byte
}

func startInstance(f *function, l *runtimes.Launch, gen uint64) (*instance, error) {
	srv, err := runtimeapi.Listen()
	if err != nil {
		return nil, err
	}
	inst := &instance{fn: f, gen: gen, srv: srv, exited: make(chan struct{}), stopping: make(chan struct{}), pumped: make(chan struct{}, 1)}
	rpcPort := ""
	if speaksRPC(l) {
		if rpcPort, err = freeLoopbackPort(); err != nil {
			srv.Close()
			return nil, err
		}
		inst.rpcReady = make(chan struct{})
	}
	cmd := exec.Command(l.Path, l.Args...)
	cmd.Dir = l.TaskRoot
	env := make([]string, 0, len(f.env)+len(l.Env)+8)
	env = append(env, f.env...)
	env = append(env, l.Env...)
	env = append(env,
		"AWS_LAMBDA_RUNTIME_API="+srv.Addr(),
		"_HANDLER="+l.Handler,
		"LAMBDA_TASK_ROOT="+l.TaskRoot,
		"AWS_LAMBDA_LOG_STREAM_NAME="+logStreamName(),
	)
	if rpcPort != "" {
		env = append(env, "_LAMBDA_SERVER_PORT="+rpcPort)
	}
	// Caller-supplied variables go last so they win over computed ones.
	env = append(env, sortedEnv(f.p.opts.Env)...)
	cmd.Env = env
	ownGroup(cmd)

	outR, outW, err := os.Pipe()
	if err != nil {
		srv.Close()
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		srv.Close()
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	inst.started = time.Now()
	if err := cmd.Start(); err != nil {
		outR.Close()
		outW.Close()
		errR.Close()
		errW.Close()
		srv.Close()
		return nil, err
	}
	outW.Close()
	errW.Close()
	inst.cmd = cmd
	inst.pipes = [2]*os.File{outR, errR}
	inst.output.Add(2)
	go inst.pump(outR)
	go inst.pump(errR)
	go func() {
		inst.waitErr = cmd.Wait()
		close(inst.exited)
	}()
	if rpcPort != "" {
		go inst.connectRPC(rpcPort)
	}
	return inst, nil
}

// pump copies the process output line by line to the log and the capture.
func (inst *instance) pump(r io.ReadCloser) {
	defer inst.output.Done()
	defer r.Close()
	br := bufio.NewReaderSize(r, 64*1024)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			text := bytes.TrimRight(line, "\r\n")
			inst.captureLine(text)
			inst.fn.p.log.line(inst.fn.prefix, string(text))
		}
		if br.Buffered() == 0 {
			select {
			case inst.pumped <- struct{}{}:
			default:
			}
		}
		if err != nil && err != bufio.ErrBufferFull {
			return
		}
	}
}

func (inst *instance) beginCapture() {
	inst.captureMu.Lock()
	inst.capturing = true
	inst.capture = inst.capture[:0]
	inst.captureMu.Unlock()
}

func (inst *instance) captureLine(text []byte) {
	inst.captureMu.Lock()
	if inst.capturing {
		inst.capture = append(inst.capture, text...)
		inst.capture = append(inst.capture, '\n')
		if over := len(inst.capture) - maxCapture; over > 0 {
			inst.capture = append(inst.capture[:0], inst.capture[over:]...)
		}
	}
	inst.captureMu.Unlock()
}

// endCapture returns what the instance printed since beginCapture. The
// runtime wrote its output before posting the result, so whatever is still
// in the pipes belongs to this invocation: wait (briefly) for the pumps.
func (inst *instance) endCapture() []byte {
	if unread(inst.pipes[0]) > 0 || unread(inst.pipes[1]) > 0 {
		bound := time.NewTimer(20 * time.Millisecond)
		for unread(inst.pipes[0]) > 0 || unread(inst.pipes[1]) > 0 {
			select {
			case <-inst.pumped:
			case <-bound.C:
			}
			if !bound.Stop() {
				break
			}
			bound.Reset(20 * time.Millisecond)
		}
		bound.Stop()
	}
	runtime.Gosched()
	inst.captureMu.Lock()
	defer inst.captureMu.Unlock()
	inst.capturing = false
	if len(inst.capture) == 0 {
		return nil
	}
	return append([]byte(nil), inst.capture...)
}

func (inst *instance) hasExited() bool {
	select {
	case <-inst.exited:
		return true
	default:
		return false
	}
}

// stop kills the process group and closes the endpoint; safe to repeat.
func (inst *instance) stop() {
	inst.stopOnce.Do(func() {
		close(inst.stopping)
		if inst.cmd != nil && inst.cmd.Process != nil && !inst.hasExited() {
			killGroup(inst.cmd)
		}
		select {
		case <-inst.exited:
		case <-time.After(5 * time.Second):
		}
		inst.srv.Close()
		if c := inst.rpcClient.Load(); c != nil {
			c.Close()
		}
		// Let the pumps log the last lines; a child that inherited the
		// pipes could hold them open, so the wait is bounded.
		drained := make(chan struct{})
		go func() { inst.output.Wait(); close(drained) }()
		select {
		case <-drained:
		case <-time.After(time.Second):
		}
	})
}

// initDuration is the time from process start to its first poll.
func (inst *instance) initDuration() time.Duration {
	return inst.readyTime.Sub(inst.started)
}

// rssRefresh bounds how often REPORT lines re-read /proc: the peak only
// grows, so a value this fresh is what Lambda would report within noise,
// and busy instances skip a file read per invocation.
const rssRefresh = 100 * time.Millisecond

// maxRSSMB is the process's peak resident memory (VmHWM), in MB. Only the
// goroutine running the instance's invocation calls it.
func (inst *instance) maxRSSMB() int {
	if now := time.Now(); now.Sub(inst.rssAt) >= rssRefresh {
		if mb := inst.readMaxRSSMB(); mb > 0 {
			inst.rssMB, inst.rssAt = mb, now
		}
	}
	return inst.rssMB
}

func (inst *instance) readMaxRSSMB() int {
	if inst.cmd == nil || inst.cmd.Process == nil {
		return 0
	}
	data, err := os.ReadFile("/proc/" + strconv.Itoa(inst.cmd.Process.Pid) + "/status")
	if err != nil {
		return 0
	}
	i := bytes.Index(data, []byte("VmHWM:"))
	if i < 0 {
		return 0
	}
	fields := bytes.Fields(data[i+len("VmHWM:"):])
	if len(fields) == 0 {
		return 0
	}
	kb, _ := strconv.Atoi(string(fields[0]))
	return (kb + 1023) / 1024
}

// logStreamName mimics Lambda's "YYYY/MM/DD/[$LATEST]<32 hex>".
func logStreamName() string {
	var b [16]byte
	rand.Read(b[:])
	return time.Now().UTC().Format("2006/01/02") + "/[$LATEST]" + hex.EncodeToString(b[:])
}
