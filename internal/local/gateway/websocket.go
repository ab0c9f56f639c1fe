package gateway

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/nimbusfw/nimbus/internal/local"
)

// WebSocketConfig is what a WebSocketAPI serves.
type WebSocketConfig struct {
	Routes []*WebSocketRoute
	// RouteSelectionExpression picks a message's route (default
	// $request.body.action).
	RouteSelectionExpression string
	Invoker                  local.Invoker
	Service, Stage, Region   string
	// AccountID appears in authorizer ARNs (default local.AccountID).
	AccountID string
	NoAuth    bool
	// IdleTimeout and HardTimeout close a connection that has been quiet
	// this long, or open this long, with 1001 (API Gateway's 10 minutes
	// and 2 hours when zero).
	IdleTimeout, HardTimeout time.Duration
	Now                      func() time.Time
	Log                      func(line string)
}

// Limits of API Gateway WebSocket APIs that change what a handler sees.
const (
	wsMaxMessage           = 128 << 10 // bigger frames close the connection with 1009
	wsIntegrationTimeout   = 29 * time.Second
	wsManagementMaxPayload = 128 << 10
)

// WebSocketAPI is an http.Handler emulating an API Gateway WebSocket API
// on one port: any path upgrades to a connection (the real API lives at
// wss://{domain}/{stage}), and /@connections/{id} or
// /{stage}/@connections/{id} is the management API handlers push with.
type WebSocketAPI struct {
	cfg     WebSocketConfig
	routes  map[string]*WebSocketRoute
	expr    selectionExpression
	apiID   string
	mu      sync.Mutex
	conns   map[string]*wsConn
	closing bool
	wg      sync.WaitGroup
}

// wsConn is one open client connection.
type wsConn struct {
	id          string
	c           *websocket.Conn
	connectedAt time.Time
	sourceIP    string
	userAgent   string
	domain      string
	authorizer  json.RawMessage
	mu          sync.Mutex
	lastActive  time.Time
	// closedWith is the status the server closed with (DeleteConnection,
	// shutdown), reported in $disconnect when the client did not answer
	// with its own.
	closedWith websocket.StatusCode
	idle       *time.Timer
	idleAfter  time.Duration
}

// closeAsync starts the close handshake without waiting for the client's
// answer (the read loop receives it).
func (c *wsConn) closeAsync(code websocket.StatusCode, reason string) {
	c.mu.Lock()
	c.closedWith = code
	c.mu.Unlock()
	go c.c.Close(code, reason)
}

// closing says the server has begun closing the connection: for the
// @connections API it is gone from then on, as on AWS, even while the
// close handshake is still under way.
func (c *wsConn) closing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closedWith != 0
}

// NewWebSocketAPI builds the API; an invalid route selection expression
// falls back to the default (WebSocketRoutesFromService reports it).
func NewWebSocketAPI(cfg WebSocketConfig) *WebSocketAPI {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.AccountID == "" {
		cfg.AccountID = local.AccountID
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 10 * time.Minute
	}
	if cfg.HardTimeout <= 0 {
		cfg.HardTimeout = 2 * time.Hour
	}
	expr, err := parseSelectionExpression(cfg.RouteSelectionExpression)
	if err != nil || cfg.RouteSelectionExpression == "" {
		expr, _ = parseSelectionExpression(DefaultRouteSelectionExpression)
	}
	a := &WebSocketAPI{cfg: cfg, routes: map[string]*WebSocketRoute{}, expr: expr, conns: map[string]*wsConn{}}
	for _, r := range cfg.Routes {
		a.routes[r.Key] = r
	}
	// A stable, AWS-shaped API id: ten lowercase characters.
	sum := sha256.Sum256([]byte(cfg.Service + "/" + cfg.Stage))
	a.apiID = hex.EncodeToString(sum[:])[:10]
	return a
}

// Routes lists the route keys served, in configuration order.
func (a *WebSocketAPI) Routes() []*WebSocketRoute { return a.cfg.Routes }

func (a *WebSocketAPI) log(s string) {
	if a.cfg.Log != nil {
		a.cfg.Log(s)
	}
}

// ServeHTTP implements http.Handler.
func (a *WebSocketAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if id, ok := connectionPath(r.URL.Path, a.cfg.Stage); ok {
		a.manage(w, r, id)
		return
	}
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		// A plain HTTP request to a WebSocket API: 426, as serverless-offline answers.
		w.WriteHeader(http.StatusUpgradeRequired)
		return
	}
	a.connect(w, r)
}

// connectionPath extracts {id} from /@connections/{id} or
// /{stage}/@connections/{id}.
func connectionPath(path, stage string) (string, bool) {
	if rest, ok := stripStage(path, stage); ok {
		path = rest
	}
	id, ok := strings.CutPrefix(path, "/@connections/")
	if !ok || id == "" || strings.Contains(id, "/") {
		return "", false
	}
	return id, true
}

// newConnectionID returns an id shaped like API Gateway's ("L0SM9cOFvHcCIhw=").
func newConnectionID() string {
	var b [10]byte
	rand.Read(b[:])
	return base64.URLEncoding.EncodeToString(b[:])
}

func (a *WebSocketAPI) connect(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	closing := a.closing
	a.mu.Unlock()
	if closing {
		writeMessage(w, http.StatusServiceUnavailable, "Service Unavailable")
		return
	}
	now := a.cfg.Now()
	conn := &wsConn{id: newConnectionID(), connectedAt: now, lastActive: now, sourceIP: sourceIP(r), userAgent: r.UserAgent(), domain: r.Host}
	a.log("websocket $connect " + conn.id)
	ev := &wsEvent{
		RequestContext:  a.requestContext(conn, "$connect", "CONNECT", now),
		IsBase64Encoded: false,
	}
	ev.Headers, ev.MultiValueHeaders = headerMaps(r.Header, r.Host)
	ev.QueryStringParameters, ev.MultiValueQueryStringParameters = queryMaps(r.URL.RawQuery)

	if route := a.routes["$connect"]; route != nil && route.Authorizer != nil && !a.cfg.NoAuth {
		code, authJSON := a.authorize(r, route, ev)
		if code != 0 {
			a.log("websocket $connect " + conn.id + " refused by authorizer " + route.Authorizer.Name + ": " + itoa(code))
			writeMessage(w, code, http.StatusText(code))
			return
		}
		conn.authorizer = authJSON
		ev.RequestContext.Authorizer = authJSON
	}
	var protocol []string
	if route := a.routes["$connect"]; route != nil {
		res, err := a.invoke(r.Context(), route, ev)
		if err != nil {
			a.log("λ " + route.Function + ": " + err.Error())
			writeMessage(w, http.StatusBadGateway, "Internal server error")
			return
		}
		if res.FunctionError != "" {
			a.log("λ " + route.Function + " failed: " + string(res.Payload))
			writeMessage(w, http.StatusBadGateway, "Internal server error")
			return
		}
		var out struct {
			StatusCode int               `json:"statusCode"`
			Headers    map[string]string `json:"headers"`
		}
		json.Unmarshal(res.Payload, &out)
		if out.StatusCode != 0 && (out.StatusCode < 200 || out.StatusCode > 299) {
			a.log("websocket $connect " + conn.id + " refused: " + itoa(out.StatusCode))
			writeMessage(w, out.StatusCode, http.StatusText(out.StatusCode))
			return
		}
		for k, v := range out.Headers {
			if strings.EqualFold(k, "Sec-WebSocket-Protocol") {
				protocol = []string{strings.TrimSpace(strings.Split(v, ",")[0])}
			}
		}
	}
	// Counted before the upgrade so that Close, which may start while the
	// client already holds an open socket, waits for this connection too.
	a.mu.Lock()
	if a.closing {
		a.mu.Unlock()
		writeMessage(w, http.StatusServiceUnavailable, "Service Unavailable")
		return
	}
	a.wg.Add(1)
	a.mu.Unlock()
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		// API Gateway does not check Origin; browsers on any page connect.
		InsecureSkipVerify: true,
		Subprotocols:       protocol,
	})
	if err != nil {
		a.wg.Done()
		a.log("websocket upgrade failed: " + err.Error())
		return
	}
	c.SetReadLimit(-1) // readMessage enforces API Gateway's limit
	conn.c = c
	a.mu.Lock()
	a.conns[conn.id] = conn
	closing = a.closing
	a.mu.Unlock()
	if closing {
		conn.closeAsync(websocket.StatusGoingAway, "Going away")
	}
	conn.mu.Lock()
	conn.idleAfter = a.cfg.IdleTimeout
	conn.idle = time.AfterFunc(a.cfg.IdleTimeout, func() { conn.closeAsync(websocket.StatusGoingAway, "Going away") })
	conn.mu.Unlock()
	hard := time.AfterFunc(a.cfg.HardTimeout, func() { conn.closeAsync(websocket.StatusGoingAway, "Going away") })
	go func() {
		a.serveConn(conn)
		hard.Stop()
		conn.mu.Lock()
		conn.idle.Stop()
		conn.mu.Unlock()
	}()
}

// serveConn reads messages until the client goes away, then runs
// $disconnect. Messages are handled concurrently, as API Gateway invokes
// routes without waiting for the previous message's answer.
func (a *WebSocketAPI) serveConn(conn *wsConn) {
	defer a.wg.Done()
	var inflight sync.WaitGroup
	var err error
	for {
		var typ websocket.MessageType
		var data []byte
		typ, data, err = readMessage(conn.c)
		if errors.Is(err, errMessageTooBig) {
			conn.mu.Lock()
			conn.closedWith = websocket.StatusMessageTooBig
			conn.mu.Unlock()
			conn.c.Close(websocket.StatusMessageTooBig, "Message too big")
			break
		}
		if err != nil {
			break
		}
		conn.touch(a.cfg.Now())
		inflight.Add(1)
		go func() {
			defer inflight.Done()
			a.message(conn, typ, data)
		}()
	}
	a.mu.Lock()
	delete(a.conns, conn.id)
	a.mu.Unlock()
	inflight.Wait()
	code := websocket.CloseStatus(err)
	reason := ""
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		reason = ce.Reason
	}
	if code == -1 {
		conn.mu.Lock()
		code = conn.closedWith
		conn.mu.Unlock()
		if code == 0 {
			code = websocket.StatusAbnormalClosure
		}
	}
	conn.c.CloseNow()
	a.disconnect(conn, int64(code), reason)
}

var errMessageTooBig = errors.New("message too big")

// readMessage reads one message, refusing those over API Gateway's limit
// (the library's own limit closes without telling us why).
func readMessage(c *websocket.Conn) (websocket.MessageType, []byte, error) {
	typ, r, err := c.Reader(context.Background())
	if err != nil {
		return 0, nil, err
	}
	data, err := io.ReadAll(io.LimitReader(r, wsMaxMessage+1))
	if err != nil {
		return 0, nil, err
	}
	if len(data) > wsMaxMessage {
		return 0, nil, errMessageTooBig
	}
	return typ, data, nil
}

func (c *wsConn) touch(t time.Time) {
	c.mu.Lock()
	c.lastActive = t
	if c.idle != nil {
		c.idle.Reset(c.idleAfter)
	}
	c.mu.Unlock()
}

func (a *WebSocketAPI) message(conn *wsConn, typ websocket.MessageType, data []byte) {
	now := a.cfg.Now()
	routeKey, matched := "", false
	if typ == websocket.MessageText {
		routeKey, matched = a.expr.routeKey(data)
	}
	route := a.routes[routeKey]
	if !matched || route == nil || strings.HasPrefix(routeKey, "$") {
		routeKey, route = "$default", a.routes["$default"]
	}
	rc := a.requestContext(conn, routeKey, "MESSAGE", now)
	rc.MessageID = newConnectionID()
	if route == nil {
		a.log("websocket " + conn.id + ": no route for message and no $default route")
		a.sendError(conn, "Forbidden", rc.RequestID)
		return
	}
	a.log("websocket " + routeKey + " " + conn.id + " (λ: " + route.Function + ")")
	ev := &wsEvent{RequestContext: rc}
	if typ == websocket.MessageText {
		ev.Body = string(data)
	} else {
		ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(data), true
	}
	res, err := a.invoke(context.Background(), route, ev)
	if err != nil {
		a.log("λ " + route.Function + ": " + err.Error())
		_, msg := invokeFailure(err)
		a.sendError(conn, msg, rc.RequestID)
		return
	}
	if res.FunctionError != "" {
		a.log("λ " + route.Function + " failed: " + string(res.Payload))
		a.sendError(conn, "Internal server error", rc.RequestID)
		return
	}
	if !route.TwoWay {
		return
	}
	var out struct {
		Body            *string `json:"body"`
		IsBase64Encoded bool    `json:"isBase64Encoded"`
	}
	if json.Unmarshal(res.Payload, &out) != nil || out.Body == nil {
		return
	}
	if out.IsBase64Encoded {
		if b, err := base64.StdEncoding.DecodeString(*out.Body); err == nil {
			conn.c.Write(context.Background(), websocket.MessageBinary, b)
		}
		return
	}
	conn.c.Write(context.Background(), websocket.MessageText, []byte(*out.Body))
}

// sendError writes API Gateway's error frame.
func (a *WebSocketAPI) sendError(conn *wsConn, msg, requestID string) {
	b, _ := json.Marshal(map[string]string{"message": msg, "connectionId": conn.id, "requestId": requestID})
	conn.c.Write(context.Background(), websocket.MessageText, b)
}

func (a *WebSocketAPI) disconnect(conn *wsConn, code int64, reason string) {
	route := a.routes["$disconnect"]
	a.log("websocket $disconnect " + conn.id)
	if route == nil {
		return
	}
	rc := a.requestContext(conn, "$disconnect", "DISCONNECT", a.cfg.Now())
	rc.DisconnectStatusCode, rc.DisconnectReason = code, &reason
	ev := &wsEvent{RequestContext: rc}
	// API Gateway's $disconnect carries these headers rather than the client's.
	ev.Headers = map[string]string{"Host": conn.domain, "x-api-key": "", "X-Forwarded-For": "", "x-restapi": ""}
	ev.MultiValueHeaders = map[string][]string{"Host": {conn.domain}, "x-api-key": {""}, "X-Forwarded-For": {""}, "x-restapi": {""}}
	res, err := a.invoke(context.Background(), route, ev)
	if err != nil {
		a.log("λ " + route.Function + ": " + err.Error())
	} else if res.FunctionError != "" {
		a.log("λ " + route.Function + " failed: " + string(res.Payload))
	}
}

func (a *WebSocketAPI) invoke(ctx context.Context, route *WebSocketRoute, ev *wsEvent) (*local.Result, error) {
	payload, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	if route.FunctionTimeout > wsIntegrationTimeout {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, wsIntegrationTimeout)
		defer cancel()
	}
	return a.cfg.Invoker.Invoke(ctx, route.Function, payload)
}

// authorize runs the $connect Lambda authorizer; a non-zero code refuses
// the connection. It shares the REST gateway's policy evaluation.
func (a *WebSocketAPI) authorize(r *http.Request, route *WebSocketRoute, connect *wsEvent) (int, json.RawMessage) {
	au := route.Authorizer
	q := &request{r: r, route: &Route{Kind: REST, Authorizer: au}}
	if _, ok := identityValues(au.IdentitySource, q); !ok {
		return http.StatusUnauthorized, nil
	}
	arn := "arn:aws:execute-api:" + a.cfg.Region + ":" + a.cfg.AccountID + ":" + a.apiID + "/" + a.cfg.Stage + "/$connect"
	ev := struct {
		Type      string `json:"type"`
		MethodArn string `json:"methodArn"`
		*wsEvent
	}{"REQUEST", arn, connect}
	payload, _ := json.Marshal(ev)
	res, err := a.cfg.Invoker.Invoke(r.Context(), au.Function, payload)
	if err != nil {
		a.log("λ " + au.Function + ": " + err.Error())
		return http.StatusInternalServerError, nil
	}
	if res.FunctionError != "" {
		if strings.Contains(string(res.Payload), `"Unauthorized"`) {
			return http.StatusUnauthorized, nil
		}
		return http.StatusInternalServerError, nil
	}
	dec, err := parseDecision(res.Payload, false)
	if err != nil {
		return http.StatusInternalServerError, nil
	}
	if msg := dec.evaluate(arn); msg != "" {
		return http.StatusForbidden, nil
	}
	return 0, dec.requestContext(q.route)
}

// requestContext builds the requestContext API Gateway sends with every
// WebSocket event.
func (a *WebSocketAPI) requestContext(conn *wsConn, routeKey, eventType string, now time.Time) wsRequestContext {
	return wsRequestContext{
		RouteKey: routeKey, EventType: eventType,
		ExtendedRequestID: newConnectionID(), RequestID: newConnectionID(),
		RequestTime:      now.UTC().Format("02/Jan/2006:15:04:05 -0700"),
		RequestTimeEpoch: now.UnixMilli(),
		MessageDirection: "IN", Stage: a.cfg.Stage,
		ConnectedAt:  conn.connectedAt.UnixMilli(),
		Identity:     wsIdentity{SourceIP: conn.sourceIP, UserAgent: conn.userAgent},
		DomainName:   conn.domain,
		ConnectionID: conn.id, APIID: a.apiID,
		Authorizer: conn.authorizer,
	}
}

// wsEvent is the event of a WebSocket route, field for field as API
// Gateway sends it (and aws-lambda-go's APIGatewayWebsocketProxyRequest
// reads it).
type wsEvent struct {
	Headers                         map[string]string   `json:"headers,omitempty"`
	MultiValueHeaders               map[string][]string `json:"multiValueHeaders,omitempty"`
	QueryStringParameters           map[string]string   `json:"queryStringParameters,omitempty"`
	MultiValueQueryStringParameters map[string][]string `json:"multiValueQueryStringParameters,omitempty"`
	RequestContext                  wsRequestContext    `json:"requestContext"`
	Body                            string              `json:"body,omitempty"`
	IsBase64Encoded                 bool                `json:"isBase64Encoded"`
}

type wsRequestContext struct {
	RouteKey             string          `json:"routeKey"`
	MessageID            string          `json:"messageId,omitempty"`
	EventType            string          `json:"eventType"`
	ExtendedRequestID    string          `json:"extendedRequestId"`
	RequestTime          string          `json:"requestTime"`
	MessageDirection     string          `json:"messageDirection"`
	DisconnectStatusCode int64           `json:"disconnectStatusCode,omitempty"`
	DisconnectReason     *string         `json:"disconnectReason,omitempty"`
	Stage                string          `json:"stage"`
	ConnectedAt          int64           `json:"connectedAt"`
	RequestTimeEpoch     int64           `json:"requestTimeEpoch"`
	Identity             wsIdentity      `json:"identity"`
	RequestID            string          `json:"requestId"`
	DomainName           string          `json:"domainName"`
	ConnectionID         string          `json:"connectionId"`
	APIID                string          `json:"apiId"`
	Authorizer           json.RawMessage `json:"authorizer,omitempty"`
}

type wsIdentity struct {
	UserAgent string `json:"userAgent"`
	SourceIP  string `json:"sourceIp"`
}

// headerMaps gives the upgrade request's headers as API Gateway lists
// them (single-value map keeps the last value).
func headerMaps(h http.Header, host string) (map[string]string, map[string][]string) {
	single := map[string]string{"Host": host}
	multi := map[string][]string{"Host": {host}}
	for k, vs := range h {
		if len(vs) == 0 {
			continue
		}
		single[k], multi[k] = vs[len(vs)-1], vs
	}
	return single, multi
}

// manage serves the @connections management API (PostToConnection,
// GetConnection, DeleteConnection). Like API Gateway locally it does not
// check signatures.
func (a *WebSocketAPI) manage(w http.ResponseWriter, r *http.Request, id string) {
	a.mu.Lock()
	conn := a.conns[id]
	a.mu.Unlock()
	if conn == nil || conn.closing() {
		a.log(r.Method + " @connections/" + id + ": gone")
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-Errortype", "GoneException")
		w.WriteHeader(http.StatusGone)
		w.Write([]byte(`{"message":null}`))
		return
	}
	switch r.Method {
	case http.MethodPost:
		data, err := io.ReadAll(io.LimitReader(r.Body, wsManagementMaxPayload+1))
		if err != nil {
			writeMessage(w, http.StatusBadRequest, "Bad Request")
			return
		}
		if len(data) > wsManagementMaxPayload {
			w.Header().Set("X-Amzn-Errortype", "PayloadTooLargeException")
			writeMessage(w, http.StatusRequestEntityTooLarge, "Message too long")
			return
		}
		typ := websocket.MessageText
		if !utf8.Valid(data) {
			typ = websocket.MessageBinary
		}
		if err := conn.c.Write(r.Context(), typ, data); err != nil {
			w.Header().Set("X-Amzn-Errortype", "GoneException")
			writeMessage(w, http.StatusGone, "")
			return
		}
		conn.touch(a.cfg.Now())
		a.log("POST @connections/" + id)
		w.WriteHeader(http.StatusOK)
	case http.MethodGet:
		a.log("GET @connections/" + id)
		conn.mu.Lock()
		last := conn.lastActive
		conn.mu.Unlock()
		b, _ := json.Marshal(map[string]any{
			"connectedAt":  conn.connectedAt.UTC().Format(time.RFC3339Nano),
			"lastActiveAt": last.UTC().Format(time.RFC3339Nano),
			"identity":     map[string]string{"sourceIp": conn.sourceIP, "userAgent": conn.userAgent},
		})
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	case http.MethodDelete:
		a.log("DELETE @connections/" + id)
		conn.closeAsync(websocket.StatusNormalClosure, "")
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Allow", "GET, POST, DELETE")
		writeMessage(w, http.StatusMethodNotAllowed, "Method Not Allowed")
	}
}

// Close closes every connection with 1001 (going away), as API Gateway
// does when a deployment ends, and waits for their $disconnect runs
// (bounded by ctx).
func (a *WebSocketAPI) Close(ctx context.Context) {
	a.mu.Lock()
	a.closing = true
	conns := make([]*wsConn, 0, len(a.conns))
	for _, c := range a.conns {
		conns = append(conns, c)
	}
	a.mu.Unlock()
	for _, c := range conns {
		c.closeAsync(websocket.StatusGoingAway, "Going away")
	}
	done := make(chan struct{})
	go func() { a.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}
