vcl 4.1;
# A Varnish edge in front of a Cascade origin. It follows the origin's Cache-Control
# (s-maxage over max-age, RFC 9111) and, per RFC 5861:
#   stale-while-revalidate=N → an expired object is served for N s while it is refetched
#   stale-if-error=N        → an expired object is served for N s while the origin is down
# Objects are keyed by URL only (one site per edge), so a push that warms the edge through its own
# address serves players who reach it by any host name. PURGE (one URL) and BAN (a URL prefix) come
# from Cascade's push service when titles change; only the hosts in `purgers` may send them.
# Replace ${ORIGIN_HOST} and ${ORIGIN_PORT} (the tests do it for you).
import std;

acl purgers {
  "localhost";
  "127.0.0.1";
  "::1";
  "10.0.0.0"/8;
  "172.16.0.0"/12;
  "192.168.0.0"/16;
}

backend origin {
  .host = "${ORIGIN_HOST}";
  .port = "${ORIGIN_PORT}";
  .connect_timeout = 1s;
  .first_byte_timeout = 30s;
  .probe = {
    .url = "/healthz";
    .interval = 1s;
    .timeout = 1s;
    .window = 3;
    .threshold = 2;
  }
}

sub vcl_recv {
  if (req.method == "PURGE" || req.method == "BAN") {
    if (client.ip !~ purgers) {
      return (synth(405, "Not allowed"));
    }
    if (req.method == "PURGE") {
      return (purge);
    }
    # Every object whose URL starts with the given path (e.g. /vod/film/v2/).
    ban("obj.http.X-Cascade-Url ~ ^" + regsuball(req.url, "([.?*+()\[\]{}|^$\\])", "\\\1"));
    return (synth(200, "Banned"));
  }
  # Playback is anonymous: never let a client header split or bypass the cache.
  unset req.http.Cookie;
  if (req.restarts > 0 && req.http.X-Cascade-Refresh) {
    set req.hash_always_miss = true;
  } else {
    unset req.http.X-Cascade-Refresh;
  }
}

sub vcl_hash {
  hash_data(req.url);
  return (lookup);
}

sub vcl_backend_response {
  # Kept on the object for BANs (the ban lurker matches obj.*, never req.*).
  set beresp.http.X-Cascade-Url = bereq.url;
  # Grace covers the longer of the two stale windows; vcl_hit decides which one applies.
  set beresp.grace = 0s;
  set beresp.http.X-Cascade-SWR = "0";
  if (beresp.http.Cache-Control ~ "stale-while-revalidate=[0-9]+") {
    set beresp.http.X-Cascade-SWR = regsub(beresp.http.Cache-Control, "^.*stale-while-revalidate=([0-9]+).*$", "\1");
    set beresp.grace = std.duration(beresp.http.X-Cascade-SWR + "s", 0s);
  }
  if (beresp.http.Cache-Control ~ "stale-if-error=[0-9]+") {
    set beresp.grace = std.duration(regsub(beresp.http.Cache-Control, "^.*stale-if-error=([0-9]+).*$", "\1") + "s", 0s);
  }
  if (beresp.http.Cache-Control ~ "(no-store|private)") {
    set beresp.uncacheable = true;
    set beresp.ttl = 0s;
    return (deliver);
  }
}

sub vcl_hit {
  if (obj.ttl >= 0s) {
    return (deliver);
  }
  # Expired. Origin up and past the stale-while-revalidate window: fetch now, do not serve stale.
  if (std.healthy(req.backend_hint) && obj.ttl + std.duration(obj.http.X-Cascade-SWR + "s", 0s) < 0s && req.restarts == 0) {
    set req.http.X-Cascade-Refresh = "1";
    return (restart);
  }
  # Within stale-while-revalidate (background refetch), or origin down within stale-if-error.
  return (deliver);
}

sub vcl_deliver {
  unset resp.http.X-Cascade-SWR;
  unset resp.http.X-Cascade-Url;
  if (obj.hits > 0) {
    set resp.http.X-Cache = "HIT";
  } else {
    set resp.http.X-Cache = "MISS";
  }
}
