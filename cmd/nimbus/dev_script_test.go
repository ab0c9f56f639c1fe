package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/rogpeppe/go-internal/testscript"
)

// Commands for `nimbus dev` scripts:
//
//	freeport VAR...            set each VAR to a free loopback port
//	waitfor URL [SECONDS]      wait until URL answers HTTP at all (default 60 s)
//	httpdo METHOD URL [BODY] [-H Name:Value]...
//	                           print "STATUS\nBODY" to stdout
//	sqssend ENDPOINT QUEUE BODY...
//	                           send messages with the AWS SDK for Go v2
//	sqscount ENDPOINT QUEUE N  wait until the queue holds N messages
//	waitfile FILE TEXT [N] [SECONDS]
//	                           wait until FILE contains TEXT at least N times
//	httpwait URL TEXT [SECONDS]
//	                           GET URL until the body contains TEXT
//	httpburst N METHOD URL     N concurrent requests; print "STATUS: COUNT" lines
//	distinctlines FILE N       FILE has at least N distinct non-empty lines
func init() {
	scriptCmds["httpwait"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) < 2 {
			ts.Fatalf("usage: httpwait URL TEXT [SECONDS]")
		}
		limit := seconds(ts, args, 2, 60)
		deadline := time.Now().Add(limit)
		var last string
		for time.Now().Before(deadline) {
			resp, err := (&http.Client{Timeout: 30 * time.Second}).Get(args[0])
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				last = string(b)
				if strings.Contains(last, args[1]) {
					fmt.Fprintf(ts.Stdout(), "%d\n%s\n", resp.StatusCode, b)
					return
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		ts.Fatalf("%s never answered with %q within %s; last body: %s", args[0], args[1], limit, last)
	}
	scriptCmds["httpburst"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 3 {
			ts.Fatalf("usage: httpburst N METHOD URL")
		}
		n, err := strconv.Atoi(args[0])
		ts.Check(err)
		codes := make(chan int, n)
		for i := 0; i < n; i++ {
			go func() {
				req, _ := http.NewRequest(args[1], args[2], nil)
				resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
				if err != nil {
					codes <- 0
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				codes <- resp.StatusCode
			}()
		}
		count := map[int]int{}
		for i := 0; i < n; i++ {
			count[<-codes]++
		}
		for _, c := range []int{0, 200, 429, 502, 504} {
			if count[c] > 0 {
				fmt.Fprintf(ts.Stdout(), "%d: %d\n", c, count[c])
			}
		}
	}
	scriptCmds["distinctlines"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 2 {
			ts.Fatalf("usage: distinctlines FILE N")
		}
		want, _ := strconv.Atoi(args[1])
		b, err := os.ReadFile(ts.MkAbs(args[0]))
		ts.Check(err)
		seen := map[string]bool{}
		for _, l := range strings.Split(string(b), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				seen[l] = true
			}
		}
		if len(seen) < want {
			ts.Fatalf("%s has %d distinct lines, want %d", args[0], len(seen), want)
		}
	}
	scriptCmds["freeport"] = func(ts *testscript.TestScript, neg bool, args []string) {
		for _, v := range args {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			ts.Check(err)
			ts.Setenv(v, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
			ln.Close()
		}
	}
	scriptCmds["waitfor"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) < 1 {
			ts.Fatalf("usage: waitfor URL [SECONDS]")
		}
		limit := seconds(ts, args, 1, 60)
		deadline := time.Now().Add(limit)
		c := &http.Client{Timeout: 2 * time.Second}
		for time.Now().Before(deadline) {
			resp, err := c.Get(args[0])
			if err == nil {
				resp.Body.Close()
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		ts.Fatalf("%s did not answer within %s", args[0], limit)
	}
	scriptCmds["httpdo"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) < 2 {
			ts.Fatalf("usage: httpdo METHOD URL [BODY] [-H Name:Value]...")
		}
		var body io.Reader
		var headers [][2]string
		rest := args[2:]
		for i := 0; i < len(rest); i++ {
			if rest[i] == "-H" && i+1 < len(rest) {
				k, v, _ := strings.Cut(rest[i+1], ":")
				headers = append(headers, [2]string{k, strings.TrimSpace(v)})
				i++
				continue
			}
			body = strings.NewReader(rest[i])
		}
		req, err := http.NewRequest(args[0], args[1], body)
		ts.Check(err)
		for _, h := range headers {
			req.Header.Set(h[0], h[1])
		}
		resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
		ts.Check(err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Fprintf(ts.Stdout(), "%d\n%s\n", resp.StatusCode, b)
		for _, k := range []string{"Content-Type", "Access-Control-Allow-Origin", "Set-Cookie"} {
			if v := resp.Header.Get(k); v != "" {
				fmt.Fprintf(ts.Stdout(), "%s: %s\n", k, v)
			}
		}
	}
	scriptCmds["sqssend"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) < 3 {
			ts.Fatalf("usage: sqssend ENDPOINT QUEUE BODY...")
		}
		c, url := sqsClient(ts, args[0], args[1])
		for _, b := range args[2:] {
			out, err := c.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: url, MessageBody: aws.String(b)})
			ts.Check(err)
			fmt.Fprintf(ts.Stdout(), "sent %s\n", *out.MessageId)
		}
	}
	scriptCmds["sqscount"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 3 {
			ts.Fatalf("usage: sqscount ENDPOINT QUEUE N")
		}
		c, url := sqsClient(ts, args[0], args[1])
		want, _ := strconv.Atoi(args[2])
		deadline := time.Now().Add(60 * time.Second)
		var last string
		for time.Now().Before(deadline) {
			out, err := c.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: url, AttributeNames: []sqstypes.QueueAttributeName{"All"}})
			ts.Check(err)
			n := 0
			for _, k := range []string{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"} {
				v, _ := strconv.Atoi(out.Attributes[k])
				n += v
			}
			last = strconv.Itoa(n)
			if n == want {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		ts.Fatalf("queue %s holds %s messages, want %d", args[1], last, want)
	}
	scriptCmds["waitfile"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) < 2 {
			ts.Fatalf("usage: waitfile FILE TEXT [N] [SECONDS]")
		}
		n := 1
		if len(args) > 2 {
			n, _ = strconv.Atoi(args[2])
		}
		limit := seconds(ts, args, 3, 60)
		deadline := time.Now().Add(limit)
		var got int
		for time.Now().Before(deadline) {
			b, _ := os.ReadFile(ts.MkAbs(args[0]))
			if got = strings.Count(string(b), args[1]); got >= n {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		b, _ := os.ReadFile(ts.MkAbs(args[0]))
		ts.Fatalf("%s contains %q %d times after %s, want %d; content:\n%s", args[0], args[1], got, limit, n, b)
	}
}

func seconds(ts *testscript.TestScript, args []string, i int, def int) time.Duration {
	if len(args) <= i {
		return time.Duration(def) * time.Second
	}
	n, err := strconv.Atoi(args[i])
	ts.Check(err)
	return time.Duration(n) * time.Second
}

func sqsClient(ts *testscript.TestScript, endpoint, queue string) (*sqs.Client, *string) {
	c := sqs.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""), BaseEndpoint: aws.String(endpoint)})
	out, err := c.GetQueueUrl(context.Background(), &sqs.GetQueueUrlInput{QueueName: aws.String(queue)})
	ts.Check(err)
	return c, out.QueueUrl
}
