"""Bodies of transport faults, shared by the live server and the in-process mode."""

from __future__ import annotations

_PAGES = {
    502: "502 Bad Gateway",
    503: "503 Service Temporarily Unavailable",
    504: "504 Gateway Time-out",
}


def html_page(status: int) -> bytes:
    """The HTML error page a load balancer (nginx/Tengine style) sends in front of the API."""
    title = _PAGES.get(status, f"{status} Error")
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
        f"<hr><center>Tengine</center>\r\n</body>\r\n</html>\r\n"
    ).encode("ascii")


def malformed_body(*, complete: bool = False) -> bytes:
    """A success answer cut short (``complete`` gives the whole one, to truncate on the wire)."""
    whole = (
        b'{"data":{"result":{"taskId":"00000000-0000-4000-8000-000000000000"}},'
        b'"requestId":"0","success":true,"resCode":200,"resMessage":"success","code":"0",'
        b'"request_id":"0","_trace_id_":"0"}'
    )
    return whole if complete else whole[:57]
