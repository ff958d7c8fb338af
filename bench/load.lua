-- wrk script of bench/load.sh: each request picks a random line of a
-- "token<TAB>path" file (an agent and what it may read), so the load spreads
-- over organisations and dossiers as a day's work does.
--
--   wrk ... -s bench/load.lua URL -- get|upload LINES_FILE
--
-- `upload` posts to the line's path a one-page PDF of 300 KB, different for
-- every request (a thread number and a counter in its payload), so no upload
-- is a copy of another. Every answer's status is counted; a 503 or 429 is
-- counted apart when it carries Retry-After (a configured limit, documented),
-- anything else that is not 2xx is an error, as are connections wrk saw
-- fail (in `socket_errors`). `done` prints one JSON line.

local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

local lines = {}
local mode
local pdf_head, pdf_tail

-- A PDF as intake/src/sample.rs writes them: catalog, pages, a blank page,
-- and an unreferenced stream of incompressible bytes. The request's unique
-- mark has a fixed width, so the offsets are computed once.
local function pdf_parts(size)
  local mark_len = 20
  local objs = {
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
  }
  local head = "%PDF-1.7\n%\226\227\207\211\n"
  local offsets = {}
  for i, body in ipairs(objs) do
    offsets[i] = #head
    head = head .. i .. " 0 obj\n" .. body .. "\nendobj\n"
  end
  local pad = size - #head - 400
  local bytes = {}
  for i = 1, pad do
    bytes[i] = string.char(math.random(0, 255))
  end
  local payload_len = mark_len + pad
  offsets[4] = #head
  head = head .. "4 0 obj\n<< /Length " .. payload_len .. " >>\nstream\n"
  local tail = table.concat(bytes) .. "\nendstream\nendobj\n"
  local xref = #head + mark_len + #tail
  tail = tail .. "xref\n0 5\n0000000000 65535 f \n"
  for i = 1, 4 do
    tail = tail .. string.format("%010d 00000 n \n", offsets[i])
  end
  tail = tail .. "trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n" .. xref .. "\n%%EOF\n"
  return head, tail
end

local boundary = "dnuvaultloadboundary"

function init(args)
  mode = args[1]
  math.randomseed(os.time() * 1000 + id)
  for l in io.lines(args[2]) do
    local token, path = l:match("^([^\t]+)\t([^\t]+)$")
    if token then
      table.insert(lines, { "Bearer " .. token, path })
    end
  end
  if #lines == 0 then
    error("no line in " .. args[2])
  end
  if mode == "upload" then
    local head, tail = pdf_parts(300000)
    pdf_head = "--" .. boundary .. "\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nressources\r\n--"
      .. boundary .. "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"piece.pdf\"\r\n"
      .. "Content-Type: application/pdf\r\n\r\n" .. head
    pdf_tail = tail .. "\r\n--" .. boundary .. "--\r\n"
  end
  statuses = {}
  limited = 0
end

function request()
  local l = lines[math.random(#lines)]
  if mode == "upload" then
    counter = counter + 1
    local body = pdf_head .. string.format("%04d%016d", id, counter) .. pdf_tail
    return wrk.format("POST", l[2], {
      ["Authorization"] = l[1],
      ["Content-Type"] = "multipart/form-data; boundary=" .. boundary,
    }, body)
  end
  return wrk.format("GET", l[2], { ["Authorization"] = l[1] })
end

function response(status, headers, body)
  -- hyper writes header names in lower case.
  if (status == 503 or status == 429) and (headers["retry-after"] or headers["Retry-After"]) then
    limited = limited + 1
  else
    statuses[status] = (statuses[status] or 0) + 1
  end
end

function done(summary, latency, requests)
  local by_status, limited_all = {}, 0
  for _, t in ipairs(threads) do
    for s, n in pairs(t:get("statuses")) do
      by_status[s] = (by_status[s] or 0) + n
    end
    limited_all = limited_all + t:get("limited")
  end
  local ok, other = 0, {}
  for s, n in pairs(by_status) do
    if s >= 200 and s < 300 then
      ok = ok + n
    else
      table.insert(other, string.format('"%d": %d', s, n))
    end
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "ok": %d, "limited": %d, "other": {%s}, "socket_errors": %d, "seconds": %.3f, '
      .. '"p50_ms": %.3f, "p99_ms": %.3f, "p999_ms": %.3f, "max_ms": %.3f, "bytes": %d}\n',
    summary.requests, ok, limited_all, table.concat(other, ", "),
    e.connect + e.read + e.write + e.timeout, summary.duration / 1e6,
    latency:percentile(50) / 1e3, latency:percentile(99) / 1e3, latency:percentile(99.9) / 1e3,
    latency.max / 1e3, summary.bytes))
end
