package runtimeapi

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http/httputil"
	"strconv"
)

// request is the part of an HTTP/1.1 request the Runtime API reads.
type request struct {
	method, path     string
	contentLength    int64 // -1 when absent
	chunked          bool
	close            bool
	expectContinue   bool
	errorType        string
	trailerErrorType string
	trailerErrorBody string
}

type httpError struct {
	status       int
	errType, msg string
}

func (e *httpError) Error() string { return e.msg }

var errTooLarge = errors.New("payload too large")

// maxDrain bounds how much of an oversized body is read and thrown away so
// the runtime receives Lambda's 413 instead of a connection reset.
const maxDrain = 64 << 20

// conn is one runtime connection with its reused buffers.
type conn struct {
	br  *bufio.Reader
	bw  *bufio.Writer
	req request
	num []byte
}

// readRequest parses the request line and headers. The returned request is
// reused by the next call.
func (c *conn) readRequest() (*request, error) {
	line, err := c.line()
	if err != nil {
		return nil, err
	}
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 <= 0 {
		return nil, &httpError{400, "InvalidRequest", "malformed request line"}
	}
	rest := line[sp1+1:]
	sp2 := bytes.IndexByte(rest, ' ')
	if sp2 <= 0 {
		return nil, &httpError{400, "InvalidRequest", "malformed request line"}
	}
	target, proto := rest[:sp2], rest[sp2+1:]
	if q := bytes.IndexByte(target, '?'); q >= 0 {
		target = target[:q]
	}
	r := &c.req
	*r = request{method: methodString(line[:sp1]), path: string(target), contentLength: -1}
	if !bytes.Equal(proto, []byte("HTTP/1.1")) {
		if !bytes.Equal(proto, []byte("HTTP/1.0")) {
			return nil, &httpError{505, "InvalidRequest", "unsupported protocol " + string(proto)}
		}
		r.close = true
	}
	for {
		line, err := c.line()
		if err != nil {
			return nil, err
		}
		if len(line) == 0 {
			return r, nil
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return nil, &httpError{400, "InvalidRequest", "malformed header line"}
		}
		name, value := line[:colon], bytes.TrimSpace(line[colon+1:])
		switch {
		case equalFold(name, "Content-Length"):
			n, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil || n < 0 {
				return nil, &httpError{400, "InvalidRequest", "bad Content-Length"}
			}
			r.contentLength = n
		case equalFold(name, "Transfer-Encoding"):
			r.chunked = equalFold(value, "chunked")
		case equalFold(name, "Connection"):
			if equalFold(value, "close") {
				r.close = true
			} else if equalFold(value, "keep-alive") {
				r.close = false
			}
		case equalFold(name, "Expect"):
			r.expectContinue = equalFold(value, "100-continue")
		case equalFold(name, hErrType):
			r.errorType = string(value)
		}
	}
}

// line reads one CRLF-terminated line without the terminator; lines longer
// than the read buffer are refused.
func (c *conn) line() ([]byte, error) {
	line, err := c.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		return nil, &httpError{431, "InvalidRequest", "request header too large"}
	}
	if err != nil {
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// readBody reads a fixed or chunked body of at most MaxResponseSize bytes,
// and the trailers of a chunked one.
func (c *conn) readBody(r *request) ([]byte, error) {
	if r.expectContinue {
		c.bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
		if err := c.bw.Flush(); err != nil {
			return nil, err
		}
	}
	switch {
	case r.chunked:
		body, err := io.ReadAll(io.LimitReader(httputil.NewChunkedReader(c.br), MaxResponseSize+1))
		if err != nil {
			return nil, err
		}
		if len(body) > MaxResponseSize {
			// Read the rest so the client sees the 413, not a reset.
			if _, err := io.Copy(io.Discard, io.LimitReader(httputil.NewChunkedReader(c.br), maxDrain)); err != nil {
				return nil, err
			}
			c.readTrailers(r)
			return nil, errTooLarge
		}
		return body, c.readTrailers(r)
	case r.contentLength > MaxResponseSize:
		if r.contentLength <= maxDrain && !r.expectContinue {
			c.br.Discard(int(r.contentLength))
		}
		return nil, errTooLarge
	case r.contentLength > 0:
		body := make([]byte, r.contentLength)
		_, err := io.ReadFull(c.br, body)
		return body, err
	}
	return nil, nil
}

func (c *conn) readTrailers(r *request) error {
	for {
		line, err := c.line()
		if err != nil {
			return err
		}
		if len(line) == 0 {
			return nil
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			continue
		}
		name, value := line[:colon], bytes.TrimSpace(line[colon+1:])
		switch {
		case equalFold(name, hErrType):
			r.trailerErrorType = string(value)
		case equalFold(name, hErrBody):
			r.trailerErrorBody = string(value)
		}
	}
}

// discardBody skips a request body the server does not use.
func (c *conn) discardBody(r *request) error {
	if r.chunked {
		if _, err := io.Copy(io.Discard, httputil.NewChunkedReader(c.br)); err != nil {
			return err
		}
		return c.readTrailers(r)
	}
	if r.contentLength > 0 {
		if r.expectContinue {
			// The client waits for permission; refuse instead of reading.
			r.close = true
			return nil
		}
		_, err := c.br.Discard(int(r.contentLength))
		return err
	}
	return nil
}

// Header names of the Runtime API.
const (
	hRequestID = "Lambda-Runtime-Aws-Request-Id"
	hDeadline  = "Lambda-Runtime-Deadline-Ms"
	hARN       = "Lambda-Runtime-Invoked-Function-Arn"
	hTrace     = "Lambda-Runtime-Trace-Id"
	hClientCtx = "Lambda-Runtime-Client-Context"
	hCognito   = "Lambda-Runtime-Cognito-Identity"
	hErrType   = "Lambda-Runtime-Function-Error-Type"
	hErrBody   = "Lambda-Runtime-Function-Error-Body"
)

func (c *conn) writeInvocation(inv *Invocation) {
	w := c.bw
	w.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + hRequestID + ": ")
	w.WriteString(inv.RequestID)
	w.WriteString("\r\n" + hDeadline + ": ")
	c.num = strconv.AppendInt(c.num[:0], inv.Deadline.UnixMilli(), 10)
	w.Write(c.num)
	w.WriteString("\r\n" + hARN + ": ")
	w.WriteString(inv.FunctionARN)
	w.WriteString("\r\n")
	writeHeader(w, hTrace, inv.TraceID)
	writeHeader(w, hClientCtx, inv.ClientContext)
	writeHeader(w, hCognito, inv.CognitoIdentity)
	w.WriteString("Content-Length: ")
	c.num = strconv.AppendInt(c.num[:0], int64(len(inv.Payload)), 10)
	w.Write(c.num)
	w.WriteString("\r\n\r\n")
	w.Write(inv.Payload)
}

// writeHeader writes a header unless its value is empty. Values come from
// callers of Dispatch; line breaks in them would split the response, so
// they are dropped.
func writeHeader(w *bufio.Writer, name, value string) {
	if value == "" {
		return
	}
	w.WriteString(name)
	w.WriteString(": ")
	for i := 0; i < len(value); i++ {
		if b := value[i]; b != '\r' && b != '\n' {
			w.WriteByte(b)
		}
	}
	w.WriteString("\r\n")
}

func (c *conn) writeAccepted() {
	c.bw.WriteString("HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{\"status\":\"OK\"}")
}

func (c *conn) writeJSON(status int, body []byte, close bool) {
	w := c.bw
	w.WriteString("HTTP/1.1 ")
	c.num = strconv.AppendInt(c.num[:0], int64(status), 10)
	w.Write(c.num)
	w.WriteString(" ")
	w.WriteString(statusText[status])
	w.WriteString("\r\nContent-Type: application/json\r\nContent-Length: ")
	c.num = strconv.AppendInt(c.num[:0], int64(len(body)), 10)
	w.Write(c.num)
	if close {
		w.WriteString("\r\nConnection: close")
	}
	w.WriteString("\r\n\r\n")
	w.Write(body)
}

// fail answers with Lambda's error shape, keeping the connection unless
// the request asked to close it.
func (c *conn) fail(status int, errType, msg string) bool {
	c.writeJSON(status, errorDoc(errType, msg), c.req.close)
	return !c.req.close
}

var statusText = map[int]string{
	400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 413: "Request Entity Too Large",
	431: "Request Header Fields Too Large", 500: "Internal Server Error", 505: "HTTP Version Not Supported",
}

func methodString(b []byte) string {
	switch string(b) { // the compiler does not allocate for this switch
	case "GET":
		return "GET"
	case "POST":
		return "POST"
	}
	return string(b)
}

// equalFold compares ASCII case-insensitively without allocating.
func equalFold[T string | []byte](b T, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		x, y := b[i], s[i]
		if x|0x20 != y|0x20 {
			return false
		}
		if x|0x20 < 'a' || x|0x20 > 'z' {
			if x != y {
				return false
			}
		}
	}
	return true
}
