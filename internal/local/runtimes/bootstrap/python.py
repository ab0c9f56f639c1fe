# Nimbus's Python runtime loop: polls the Lambda Runtime API at
# AWS_LAMBDA_RUNTIME_API, runs the handler named by _HANDLER (module.function)
# from LAMBDA_TASK_ROOT and posts the result, as the managed python runtimes
# do.
import http.client
import importlib
import json
import logging
import os
import sys
import time
import traceback

API = os.environ["AWS_LAMBDA_RUNTIME_API"]
BASE = "/2018-06-01/runtime"
TASK_ROOT = os.environ.get("LAMBDA_TASK_ROOT", os.getcwd())
HANDLER = os.environ.get("_HANDLER", "")

_conn = None


def _request(method, path, body=None, headers=None):
    # One persistent connection: the loop is strictly sequential.
    global _conn
    for attempt in (0, 1):
        if _conn is None:
            _conn = http.client.HTTPConnection(API)
        try:
            _conn.request(method, BASE + path, body=body, headers=headers or {})
            resp = _conn.getresponse()
            data = resp.read()
            return resp.status, resp.headers, data
        except (http.client.HTTPException, ConnectionError):
            _conn.close()
            _conn = None
            if attempt:
                raise


def _error_doc(exc, error_type=None):
    tb = traceback.extract_tb(exc.__traceback__)
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "requestId": "",
        "stackTrace": traceback.format_list(tb),
    }


def _post_error(path, doc):
    body = json.dumps(doc).encode()
    _request("POST", path, body, {
        "Content-Type": "application/json",
        "Lambda-Runtime-Function-Error-Type": doc["errorType"],
    })


class LambdaContext:
    def __init__(self, headers):
        self.aws_request_id = headers.get("Lambda-Runtime-Aws-Request-Id")
        self._deadline_ms = int(headers.get("Lambda-Runtime-Deadline-Ms") or 0)
        self.invoked_function_arn = headers.get("Lambda-Runtime-Invoked-Function-Arn")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.client_context = _json_or_none(headers.get("Lambda-Runtime-Client-Context"))
        self.identity = _json_or_none(headers.get("Lambda-Runtime-Cognito-Identity"))

    def get_remaining_time_in_millis(self):
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _json_or_none(s):
    if not s:
        return None
    try:
        return json.loads(s)
    except ValueError:
        return None


def _load_handler():
    module_path, _, func = HANDLER.rpartition(".")
    if not module_path or not func:
        raise _RuntimeError("Runtime.MalformedHandlerName", "Bad handler '%s': not enough values to unpack" % HANDLER)
    module_name = module_path.replace("/", ".")
    if TASK_ROOT not in sys.path:
        sys.path.insert(0, TASK_ROOT)
    try:
        module = importlib.import_module(module_name)
    except SyntaxError as e:
        raise _RuntimeError("Runtime.UserCodeSyntaxError", "Syntax error in module '%s': %s" % (module_name, e))
    except Exception as e:
        # Lambda reports any failure while importing the module this way.
        raise _RuntimeError("Runtime.ImportModuleError", "Unable to import module '%s': %s" % (module_name, e))
    handler = getattr(module, func, None)
    if handler is None:
        raise _RuntimeError("Runtime.HandlerNotFound", "Handler '%s' missing on module '%s'" % (func, module_name))
    return handler


class _RuntimeError(Exception):
    def __init__(self, error_type, message):
        super().__init__(message)
        self.error_type = error_type


_current_request_id = None


class _RequestIdFilter(logging.Filter):
    def filter(self, record):
        record.aws_request_id = _current_request_id or ""
        return True


def _setup_logging():
    # Lambda installs a root handler in this format, so the common
    # `logger.setLevel(logging.INFO); logger.info(...)` pattern prints.
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
        "%Y-%m-%dT%H:%M:%S"))
    handler.formatter.converter = time.gmtime
    handler.addFilter(_RequestIdFilter())
    logging.getLogger().addHandler(handler)


def main():
    global _current_request_id
    _setup_logging()
    try:
        handler = _load_handler()
    except _RuntimeError as e:
        print("[ERROR] %s: %s" % (e.error_type, e), file=sys.stderr, flush=True)
        _post_error("/init/error", {"errorMessage": str(e), "errorType": e.error_type, "stackTrace": []})
        sys.exit(1)
    except Exception as e:
        traceback.print_exc()
        _post_error("/init/error", _error_doc(e, "Runtime.Unknown"))
        sys.exit(1)
    while True:
        status, headers, body = _request("GET", "/invocation/next")
        if status != 200:
            sys.exit(1)
        request_id = headers.get("Lambda-Runtime-Aws-Request-Id")
        _current_request_id = request_id
        trace = headers.get("Lambda-Runtime-Trace-Id")
        if trace:
            os.environ["_X_AMZN_TRACE_ID"] = trace
        try:
            event = json.loads(body) if body else {}
        except ValueError as e:
            _post_error("/invocation/%s/error" % request_id, _error_doc(e, "Runtime.UnmarshalError"))
            continue
        try:
            result = handler(event, LambdaContext(headers))
            out = json.dumps(result).encode()
        except Exception as e:
            doc = _error_doc(e)
            doc["requestId"] = request_id
            print("[ERROR] %s: %s" % (doc["errorType"], doc["errorMessage"]), file=sys.stderr, flush=True)
            traceback.print_exc()
            _post_error("/invocation/%s/error" % request_id, doc)
            continue
        _request("POST", "/invocation/%s/response" % request_id, out, {"Content-Type": "application/json"})


if __name__ == "__main__":
    main()
