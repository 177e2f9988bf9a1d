// Evidence uploader: photos, video, audio and documents sent in chunks to /api/evidence/uploads
// (see the evidence upload protocol). Each file gets a progress bar, pause/resume and automatic
// retries with backoff; an interrupted upload continues after a reload or a lost connection from
// the offset the server reports. Only the opaque upload id (never the file itself) is kept, in
// this tab's sessionStorage, which the quick exit clears. The receipt can be saved as JSON and
// checked offline with `homesafe verify FILE RECEIPT`.
(function () {
  "use strict";
  var STORE = "homesafe.evidence.uploads";
  var RECEIPTS = "homesafe.evidence.receipts";
  var MAX_BACKOFF_MS = 30000;

  function readStore(key) {
    try { return JSON.parse(window.sessionStorage.getItem(key) || "[]") || []; } catch (e) { return []; }
  }
  function writeStore(key, list) {
    try { window.sessionStorage.setItem(key, JSON.stringify(list)); } catch (e) { /* storage off */ }
  }

  // Sizes keep number and unit together (a no-break space) on narrow screens.
  function formatBytes(n) {
    if (n < 1024) return n + "\u00a0B";
    if (n < 1024 * 1024) return (n / 1024).toFixed(1) + "\u00a0KB";
    if (n < 1024 * 1024 * 1024) return (n / 1048576).toFixed(1) + "\u00a0MB";
    return (n / 1073741824).toFixed(2) + "\u00a0GB";
  }

  function base64(buffer) {
    var bytes = new Uint8Array(buffer);
    var text = "";
    for (var i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
    return window.btoa(text);
  }

  // SHA-256 of a chunk for Upload-Checksum; only where WebCrypto exists (secure contexts).
  function chunkChecksum(blob) {
    if (!window.crypto || !window.crypto.subtle || !blob.arrayBuffer) return Promise.resolve(null);
    return blob.arrayBuffer().then(function (buf) {
      return window.crypto.subtle.digest("SHA-256", buf);
    }).then(function (digest) { return "sha256 " + base64(digest); }, function () { return null; });
  }

  function fill(text, values) {
    return String(text).replace(/%\((\w+)\)s/g, function (_m, key) {
      return values[key] !== undefined ? values[key] : "";
    }).replace(/%%/g, "%");
  }

  function Uploader(root) {
    this.root = root;
    this.api = root.getAttribute("data-api");
    this.receiptApi = root.getAttribute("data-receipt-api");
    this.target = JSON.parse(root.getAttribute("data-target"));
    this.targetKey = root.getAttribute("data-target-key");
    this.form = root.querySelector("[data-upload-form]");
    this.input = root.querySelector("[data-upload-input]");
    this.list = root.querySelector("[data-upload-list]");
    this.rowTemplate = root.querySelector("[data-upload-row]");
    this.receiptTemplate = root.querySelector("[data-receipt-row]");
    this.pendingBox = root.querySelector("[data-upload-pending]");
    this.csrf = (root.querySelector("input[name=csrfmiddlewaretoken]") || {}).value || "";
    this.queue = [];
    this.active = null;
    this.counter = 0;
    var self = this;
    this.form.addEventListener("submit", function (event) {
      event.preventDefault();
      self.addFiles(self.input.files);
      self.input.value = "";
    });
    window.addEventListener("online", function () {
      if (self.active && self.active.waiting) self.active.retryNow();
    });
    window.addEventListener("beforeunload", function (event) {
      if (self.active && !self.active.paused) {
        event.preventDefault();
        event.returnValue = "";
      }
    });
    var discard = root.querySelector("[data-pending-discard]");
    if (discard) discard.addEventListener("click", function () { self.discardPending(); });
    this.showPending();
    this.showSavedReceipts();
  }

  Uploader.prototype.msg = function (name, values) {
    return fill(this.root.getAttribute("data-msg-" + name) || name, values || {});
  };

  Uploader.prototype.request = function (method, url, body) {
    var headers = { "X-CSRFToken": this.csrf, "Accept": "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return window.fetch(url, {
      method: method, headers: headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(function (response) {
      return response.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        return { status: response.status, data: data };
      });
    });
  };

  // Uploads started in this tab whose page was reloaded: choosing the same file continues them.
  Uploader.prototype.stored = function () {
    var key = this.targetKey;
    return readStore(STORE).filter(function (s) { return s.target === key; });
  };
  Uploader.prototype.remember = function (job) {
    var list = readStore(STORE).filter(function (s) { return s.upload !== job.upload; });
    list.push({ upload: job.upload, target: this.targetKey, name: job.file.name,
      size: job.file.size, modified: job.file.lastModified, chunk: job.chunkSize });
    writeStore(STORE, list);
  };
  Uploader.prototype.forget = function (uploadId) {
    writeStore(STORE, readStore(STORE).filter(function (s) { return s.upload !== uploadId; }));
    this.showPending();
  };
  Uploader.prototype.pendingUploads = function () {
    return this.stored().filter(function (s) {
      return !this.queue.some(function (job) { return job.upload === s.upload; }) &&
        !(this.active && this.active.upload === s.upload);
    }, this);
  };
  Uploader.prototype.showPending = function () {
    if (!this.pendingBox) return;
    var waiting = this.pendingUploads();
    var names = this.pendingBox.querySelector("[data-pending-names]");
    names.textContent = "";
    waiting.forEach(function (s) {
      var li = document.createElement("li");
      li.textContent = s.name + " (" + formatBytes(s.size) + ")";
      names.appendChild(li);
    });
    this.pendingBox.hidden = waiting.length === 0;
  };

  // "Don't continue them": the server drops what it holds of those uploads.
  Uploader.prototype.discardPending = function () {
    var self = this;
    this.pendingUploads().forEach(function (s) {
      self.request("DELETE", self.api + "/" + encodeURIComponent(s.upload))
        .then(null, function () { /* unfinished uploads expire on the server anyway */ });
      self.forget(s.upload);
    });
  };

  Uploader.prototype.addFiles = function (files) {
    var chosen = Array.prototype.slice.call(files || []);
    if (!chosen.length) {
      this.say(this.msg("choose"));
      return;
    }
    this.say("");
    var stored = this.stored();
    chosen.forEach(function (file) {
      var match = stored.filter(function (s) {
        return s.name === file.name && s.size === file.size && s.modified === file.lastModified;
      })[0];
      var job = new Job(this, file, match ? match.upload : null);
      if (match && match.chunk) job.chunkSize = match.chunk;
      this.queue.push(job);
    }, this);
    this.showPending();
    this.next();
  };

  Uploader.prototype.say = function (text) {
    var box = this.root.querySelector("[data-upload-problem]");
    box.textContent = text;
    box.hidden = !text;
  };

  Uploader.prototype.next = function () {
    if (this.active && !this.active.done) return;
    this.active = this.queue.shift() || null;
    if (this.active) this.active.start();
  };

  Uploader.prototype.saveReceiptId = function (item) {
    var list = readStore(RECEIPTS).filter(function (r) { return r.item !== item; });
    list.push({ item: item, target: this.targetKey });
    writeStore(RECEIPTS, list.slice(-20));
  };

  // Receipts of uploads finished earlier in this tab stay on the page after a reload.
  Uploader.prototype.showSavedReceipts = function () {
    var self = this;
    readStore(RECEIPTS).filter(function (r) { return r.target === self.targetKey; })
      .forEach(function (r) {
        self.request("GET", self.receiptApi + encodeURIComponent(r.item)).then(function (res) {
          if (res.status === 200 && res.data) {
            var li = document.createElement("li");
            li.className = "ev-upload ev-upload--done";
            self.list.appendChild(li);
            self.renderReceipt(li, res.data, null);
          }
        }, function () { /* offline: the receipt stays saved for later */ });
      });
  };

  Uploader.prototype.renderReceipt = function (container, receipt, name) {
    var node = this.receiptTemplate.content.cloneNode(true);
    var short = String(receipt.sha256 || "").slice(0, 12);
    function set(field, value) {
      var el = node.querySelector("[data-r=" + field + "]");
      if (el) el.textContent = value;
    }
    set("name", name || this.msg("earlier"));
    set("sha256", receipt.sha256);
    set("size", formatBytes(receipt.size) + " (" + receipt.size + " bytes)");
    var when = new Date(receipt.received_at);
    set("received", isNaN(when.getTime()) ? receipt.received_at : when.toLocaleString());
    set("position", this.msg("position", {
      number: receipt.leaf_index + 1, size: receipt.tree_size, index: receipt.leaf_index,
    }));
    var link = node.querySelector("[data-r=save]");
    var blob = new Blob([JSON.stringify(receipt, null, 2) + "\n"], { type: "application/json" });
    link.href = URL.createObjectURL(blob);
    link.setAttribute("download", "receipt-" + short + ".json");
    container.appendChild(node);
  };

  function Job(uploader, file, upload) {
    this.uploader = uploader;
    this.file = file;
    this.upload = upload;
    this.offset = 0;
    this.chunkSize = 0;
    this.paused = false;
    this.done = false;
    this.waiting = false;
    this.failures = 0;
    this.xhr = null;
    this.timer = null;
    uploader.counter += 1;
    var node = uploader.rowTemplate.content.cloneNode(true);
    this.row = node.querySelector("li");
    var id = "ev-progress-" + uploader.counter;
    this.bar = this.row.querySelector("progress");
    this.bar.id = id;
    var label = this.row.querySelector("[data-u=label]");
    label.setAttribute("for", id);
    this.row.querySelector("[data-u=name]").textContent = file.name;
    this.amount = this.row.querySelector("[data-u=amount]");
    this.status = this.row.querySelector("[data-u=status]");
    this.pauseButton = this.row.querySelector("[data-u=pause]");
    this.resumeButton = this.row.querySelector("[data-u=resume]");
    this.cancelButton = this.row.querySelector("[data-u=cancel]");
    var self = this;
    this.pauseButton.addEventListener("click", function () { self.pause(); });
    this.resumeButton.addEventListener("click", function () { self.resume(); });
    this.cancelButton.addEventListener("click", function () { self.cancel(); });
    uploader.list.appendChild(this.row);
    this.setStatus(uploader.msg("queued"));
    this.showAmount(0);
  }

  Job.prototype.setStatus = function (text, kind) {
    this.status.textContent = text;
    this.row.setAttribute("data-state", kind || "working");
  };
  Job.prototype.showAmount = function (sent) {
    var size = this.file.size || 1;
    var pct = Math.min(100, Math.floor((sent / size) * 100));
    this.bar.value = pct;
    this.bar.textContent = pct + "%";
    this.amount.textContent = this.uploader.msg("amount", {
      sent: formatBytes(sent), size: formatBytes(this.file.size), percent: pct,
    });
  };
  Job.prototype.buttons = function (pause, resume, cancel) {
    this.pauseButton.hidden = !pause;
    this.resumeButton.hidden = !resume;
    this.cancelButton.hidden = !cancel;
  };

  Job.prototype.start = function () {
    var self = this;
    this.buttons(true, false, true);
    if (this.upload) {
      this.askOffset(true);
      return;
    }
    this.setStatus(this.uploader.msg("starting"));
    this.uploader.request("POST", this.uploader.api, {
      target: this.uploader.target, filename: this.file.name, size: this.file.size,
      content_type: this.file.type || "application/octet-stream",
    }).then(function (res) {
      if (res.status === 201 && res.data) {
        self.upload = res.data.upload;
        self.chunkSize = res.data.chunk_size;
        self.offset = res.data.offset || 0;
        self.uploader.remember(self);
        self.failures = 0;
        self.send();
      } else {
        self.fail(res.status, res.data);
      }
    }, function () { self.retryLater(function () { self.start(); }); });
  };

  // Where the server stands, then continue from there (after a reload, a drop or a pause).
  Job.prototype.askOffset = function (announce) {
    var self = this;
    this.setStatus(this.uploader.msg("checking"));
    this.uploader.request("GET", this.uploader.api + "/" + encodeURIComponent(this.upload))
      .then(function (res) {
        if (res.status === 200 && res.data) {
          self.offset = res.data.offset;
          if (!self.chunkSize) self.chunkSize = res.data.chunk_size || 4 * 1024 * 1024;
          self.failures = 0;
          if (announce && self.offset > 0) {
            self.resumedFrom = self.offset;
            self.row.setAttribute("data-resumed-from", String(self.offset));
          }
          self.send();
        } else if (res.status === 404) {
          // Expired or gone: start afresh with the same file.
          self.uploader.forget(self.upload);
          self.upload = null;
          self.offset = 0;
          self.start();
        } else {
          self.fail(res.status, res.data);
        }
      }, function () { self.retryLater(function () { self.askOffset(false); }); });
  };

  Job.prototype.send = function () {
    if (this.paused || this.done) return;
    var self = this;
    var end = Math.min(this.file.size, this.offset + this.chunkSize);
    var chunk = this.file.slice(this.offset, end);
    var from = this.offset;
    this.showAmount(from);
    this.setStatus(this.resumedFrom ?
      this.uploader.msg("resuming", { sent: formatBytes(this.resumedFrom) }) :
      this.uploader.msg("uploading"));
    chunkChecksum(chunk).then(function (checksum) {
      if (self.paused || self.done) return;
      var xhr = new XMLHttpRequest();
      self.xhr = xhr;
      xhr.open("PATCH", self.uploader.api + "/" + encodeURIComponent(self.upload));
      xhr.setRequestHeader("Upload-Offset", String(from));
      xhr.setRequestHeader("Content-Type", "application/offset+octet-stream");
      xhr.setRequestHeader("X-CSRFToken", self.uploader.csrf);
      xhr.setRequestHeader("Accept", "application/json");
      if (checksum) xhr.setRequestHeader("Upload-Checksum", checksum);
      xhr.upload.onprogress = function (event) {
        if (event.lengthComputable) self.showAmount(from + event.loaded);
      };
      xhr.onload = function () {
        self.xhr = null;
        var data = null;
        try { data = JSON.parse(xhr.responseText); } catch (e) { data = null; }
        self.answer(xhr.status, data);
      };
      xhr.onerror = function () {
        self.xhr = null;
        if (!self.paused) self.retryLater(function () { self.askOffset(false); });
      };
      xhr.send(chunk);
    });
  };

  Job.prototype.answer = function (status, data) {
    if (status === 200 && data) {
      this.failures = 0;
      this.offset = data.offset;
      this.showAmount(this.offset);
      if (data.receipt) this.finish(data.receipt);
      else this.send();
    } else if (status === 409 && data && typeof data.offset === "number") {
      this.offset = data.offset;
      this.send();
    } else if (status === 409) {
      // Another request of this upload is still being received (e.g. the one that dropped).
      var later = this;
      this.retryLater(function () { later.askOffset(false); });
    } else if (status === 404) {
      this.uploader.forget(this.upload);
      this.fail(404, data);
    } else if (status === 0 || status >= 500 || status === 429 || status === 460) {
      var self = this;
      this.retryLater(function () { self.askOffset(false); });
    } else {
      this.fail(status, data);
    }
  };

  // Dropped connection or a busy server: wait 1, 2, 4 … 30 s (sooner when back online).
  Job.prototype.retryLater = function (again) {
    var self = this;
    this.failures += 1;
    var delay = Math.min(MAX_BACKOFF_MS, 1000 * Math.pow(2, this.failures - 1));
    delay = Math.round(delay * (0.8 + Math.random() * 0.4));
    this.waiting = true;
    this.retry = again;
    this.setStatus(this.uploader.msg(navigator.onLine === false ? "offline" : "retrying",
      { seconds: Math.ceil(delay / 1000) }), "waiting");
    clearTimeout(this.timer);
    this.timer = setTimeout(function () { self.retryNow(); }, delay);
  };
  Job.prototype.retryNow = function () {
    if (!this.waiting || this.paused) return;
    clearTimeout(this.timer);
    this.waiting = false;
    var again = this.retry;
    this.retry = null;
    if (again) again();
  };

  Job.prototype.pause = function () {
    this.paused = true;
    clearTimeout(this.timer);
    this.waiting = false;
    if (this.xhr) { this.xhr.abort(); this.xhr = null; }
    this.buttons(false, true, true);
    this.setStatus(this.uploader.msg("paused"), "paused");
  };
  Job.prototype.resume = function () {
    this.paused = false;
    this.failures = 0;
    this.buttons(true, false, true);
    if (this.upload) this.askOffset(false);
    else this.start();
  };
  Job.prototype.cancel = function () {
    var uploader = this.uploader;
    this.paused = true;
    this.done = true;
    clearTimeout(this.timer);
    if (this.xhr) { this.xhr.abort(); this.xhr = null; }
    if (this.upload) {
      uploader.request("DELETE", uploader.api + "/" + encodeURIComponent(this.upload))
        .then(null, function () { /* the server drops stale uploads itself */ });
      uploader.forget(this.upload);
    }
    uploader.queue = uploader.queue.filter(function (job) { return job !== this; }, this);
    this.buttons(false, false, false);
    this.setStatus(uploader.msg("cancelled"), "cancelled");
    uploader.next();
  };

  Job.prototype.fail = function (status, data) {
    var uploader = this.uploader;
    var known = { 400: "bad", 404: "gone", 409: "conflict", 413: "too_big", 415: "bad_type", 422: "bad" };
    var text = uploader.msg(known[status] || "failed", { status: status });
    var detail = data && (data.detail || data.message);
    // The server's own words are clearer for a refused file (it says what was found).
    if ([400, 403, 415, 422, 429].indexOf(status) >= 0 && typeof detail === "string" && detail) text = detail;
    this.done = true;
    // A refused file shows no half-full bar: nothing of it was kept.
    this.bar.hidden = true;
    this.amount.textContent = formatBytes(this.file.size);
    if (this.upload && status !== 409) uploader.forget(this.upload);
    this.buttons(false, false, false);
    this.setStatus(text, "error");
    this.status.setAttribute("role", "alert");
    uploader.next();
  };

  Job.prototype.finish = function (receipt) {
    var uploader = this.uploader;
    this.done = true;
    uploader.forget(this.upload);
    uploader.saveReceiptId(receipt.item);
    this.buttons(false, false, false);
    this.showAmount(this.file.size);
    this.setStatus(uploader.msg("done"), "done");
    this.row.classList.add("ev-upload--done");
    uploader.renderReceipt(this.row, receipt, this.file.name);
    uploader.next();
  };

  Array.prototype.forEach.call(document.querySelectorAll("[data-evidence-uploader]"), function (root) {
    root.homesafeUploader = new Uploader(root);
  });

  // "Copy link" next to a new drop-box link (the caseworker's page).
  Array.prototype.forEach.call(document.querySelectorAll("[data-copy-link]"), function (button) {
    var field = document.getElementById(button.getAttribute("data-copy-link"));
    var said = document.querySelector("[data-copy-status]");
    button.hidden = false;
    button.addEventListener("click", function () {
      function done() { if (said) said.textContent = button.getAttribute("data-copied"); }
      field.select();
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(field.value).then(done, function () {
          if (document.execCommand("copy")) done();
        });
      } else if (document.execCommand("copy")) {
        done();
      }
    });
  });
})();
