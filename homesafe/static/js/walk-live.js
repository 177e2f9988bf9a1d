// Live updates for the walk pages. One WebSocket to /ws/walks/live/ (the server decides what
// this session may follow), reconnecting with backoff. On every (re)connect the page re-reads
// its state over HTTP, because pushes are best-effort; while the socket is down, it polls.
// Also the throttled sender of this phone's position.
(function () {
  "use strict";
  var ns = (window.homesafe = window.homesafe || {});
  var POLL_MS = window.homesafePollMs || 5000; // tests poll faster
  // Pushes are best-effort even on an open socket: re-read now and then all the same.
  var OPEN_POLL_MS = 30000;
  var MAX_BACKOFF_MS = 30000;
  var SEND_EVERY_MS = 3000;

  // options.refresh(): re-read state over HTTP; options.handlers: {"walk.state": fn(msg), ...}
  ns.live = function (options) {
    var socket = null;
    var attempts = 0;
    var pollTimer = null;
    var retryTimer = null;
    var stopped = false;
    var handlers = options.handlers || {};

    function refresh() { if (!stopped) options.refresh(); }
    function poll(every) {
      clearInterval(pollTimer);
      pollTimer = stopped ? null : setInterval(refresh, every);
    }
    function startPolling() { poll(POLL_MS); }
    function stopPolling() { clearInterval(pollTimer); pollTimer = null; }

    function connect() {
      if (stopped || !("WebSocket" in window)) return;
      var url = (location.protocol === "https:" ? "wss" : "ws") + "://" + location.host + "/ws/walks/live/";
      try {
        socket = new WebSocket(url);
      } catch (e) {
        socket = null;
        retry();
        return;
      }
      socket.onopen = function () {
        document.documentElement.setAttribute("data-live", "socket");
        attempts = 0;
        poll(OPEN_POLL_MS);
        refresh();
      };
      socket.onmessage = function (event) {
        var message;
        try { message = JSON.parse(event.data); } catch (e) { return; }
        if (!message || stopped) return;
        // The server dropped something on the way (a slow socket, a Redis restart): re-read.
        if (message.type === "realtime.resync") { refresh(); return; }
        var handle = handlers[message.type];
        if (handle) handle(message);
      };
      socket.onclose = function () {
        document.documentElement.setAttribute("data-live", "polling");
        socket = null;
        startPolling();
        retry();
      };
    }

    function retry() {
      if (stopped) return;
      var delay = Math.min(MAX_BACKOFF_MS, 1000 * Math.pow(2, attempts)) * (0.8 + Math.random() * 0.4);
      attempts += 1;
      retryTimer = setTimeout(connect, delay);
    }

    refresh();
    startPolling(); // until the socket is open
    connect();
    return {
      refresh: refresh,
      stop: function () {
        stopped = true;
        stopPolling();
        clearTimeout(retryTimer);
        if (socket) { socket.onclose = null; socket.close(); }
      }
    };
  };

  // Follows this phone's position and POSTs it at most once every 3 s, always the newest fix.
  // options: onFix(point) for every fix, onError() when location is off, onRefused(status)
  // when the server no longer takes positions (the walk ended, off duty).
  ns.positionSender = function (url, csrf, options) {
    options = options || {};
    var latest = null;
    var lastSent = 0;
    var timer = null;
    var watchId = null;
    var stopped = false;

    function stop() {
      stopped = true;
      clearTimeout(timer);
      if (watchId !== null && navigator.geolocation) navigator.geolocation.clearWatch(watchId);
    }
    function send() {
      timer = null;
      if (!latest || stopped) return;
      var body = JSON.stringify({ lat: latest.lat, lng: latest.lng });
      latest = null;
      lastSent = Date.now();
      fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" },
        body: body
      }).then(function (response) {
        if (!response.ok && response.status >= 400 && response.status < 500) {
          stop();
          if (options.onRefused) options.onRefused(response.status);
        }
      }).catch(function () { /* offline for a moment: the next fix is sent anyway */ });
    }
    function fix(position) {
      if (stopped) return;
      latest = { lat: position.coords.latitude, lng: position.coords.longitude };
      if (options.onFix) options.onFix(latest);
      if (timer) return;
      timer = setTimeout(send, Math.max(0, lastSent + SEND_EVERY_MS - Date.now()));
    }
    if (!navigator.geolocation) {
      if (options.onError) options.onError();
      return { stop: stop };
    }
    watchId = navigator.geolocation.watchPosition(fix, function () {
      if (options.onError) options.onError();
    }, { enableHighAccuracy: true, maximumAge: 3000, timeout: 30000 });
    return { stop: stop };
  };

  ns.text = function (root, name, values) {
    var text = root.getAttribute("data-t-" + name) || "";
    return text.replace(/\{(\w+)\}/g, function (match, key) {
      return values && key in values ? String(values[key]) : match;
    });
  };
})();
