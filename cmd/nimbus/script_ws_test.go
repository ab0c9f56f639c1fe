package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/rogpeppe/go-internal/testscript"
)

// wsdo URL [-H Name:Value]... STEP...
//
// opens a WebSocket connection and runs the steps in order:
//
//	send TEXT   send a text message
//	recv        wait (10 s at most) for a message and print "< MESSAGE"
//	closed      wait (10 s at most) for the server to close; print "closed CODE"
//	close       close with 1000 (done anyway after the last step)
//
// It prints "connected" first, or "refused STATUS" when the handshake is
// answered with an HTTP status instead of an upgrade.
func init() {
	scriptCmds["wsdo"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) < 1 {
			ts.Fatalf("usage: wsdo URL [-H Name:Value]... [send TEXT | recv | close]...")
		}
		header := http.Header{}
		steps := args[1:]
		for len(steps) >= 2 && steps[0] == "-H" {
			k, v, _ := strings.Cut(steps[1], ":")
			header.Add(k, strings.TrimSpace(v))
			steps = steps[2:]
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		c, resp, err := websocket.Dial(ctx, args[0], &websocket.DialOptions{HTTPHeader: header})
		if err != nil {
			if resp != nil {
				fmt.Fprintf(ts.Stdout(), "refused %d\n", resp.StatusCode)
				return
			}
			ts.Fatalf("wsdo %s: %v", args[0], err)
		}
		defer c.CloseNow()
		fmt.Fprintln(ts.Stdout(), "connected")
		for i := 0; i < len(steps); i++ {
			switch steps[i] {
			case "send":
				if i+1 >= len(steps) {
					ts.Fatalf("wsdo: send needs a message")
				}
				i++
				ts.Check(c.Write(ctx, websocket.MessageText, []byte(steps[i])))
			case "recv":
				rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
				_, b, err := c.Read(rctx)
				rcancel()
				if err != nil {
					ts.Fatalf("wsdo: no message: %v", err)
				}
				fmt.Fprintf(ts.Stdout(), "< %s\n", b)
			case "closed":
				rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
				_, b, err := c.Read(rctx)
				rcancel()
				if err == nil {
					ts.Fatalf("wsdo: got %q, want the connection closed", b)
				}
				code := websocket.CloseStatus(err)
				if code == -1 {
					ts.Fatalf("wsdo: connection ended without a close frame: %v", err)
				}
				fmt.Fprintf(ts.Stdout(), "closed %d\n", code)
				return
			case "close":
				ts.Check(c.Close(websocket.StatusNormalClosure, ""))
				return
			default:
				ts.Fatalf("wsdo: unknown step %q", steps[i])
			}
		}
		c.Close(websocket.StatusNormalClosure, "")
	}
}
