-- wrk script: POST a submit with a URL input (the body the vendor's samples send).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"requestParams":"[{\\"imageFileUrl\\":\\"https://example.com/p.jpg\\",\\"modelNum\\":\\"mod001\\",\\"width\\":\\"800\\",\\"height\\":\\"800\\",\\"imageNum\\":\\"2\\"}]"}'
