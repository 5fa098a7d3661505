//! Real nginx backends (Debian's package), one process per instance,
//! configured from a temporary directory and stopped on drop.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::netns::NetNs;
use crate::TempDir;

/// What one nginx instance serves.
#[derive(Debug, Clone)]
pub struct NginxSpec {
    /// `addr:port` listeners for plain HTTP.
    pub http: Vec<String>,
    /// `addr:port` listeners for HTTPS with the generated self-signed cert.
    pub https: Vec<String>,
    /// Namespace to run in (`None` = the test's own).
    pub netns: Option<String>,
}

pub struct Nginx {
    dir: TempDir,
    spec: NginxSpec,
    child: Option<Child>,
}

impl Nginx {
    /// Starts nginx and waits until every listener accepts connections
    /// (only checked for listeners in the test's own namespace).
    pub fn start(spec: NginxSpec) -> Nginx {
        let dir = TempDir::new("nginx");
        let mut n = Nginx { dir, spec, child: None };
        if !n.spec.https.is_empty() {
            n.make_cert();
        }
        n.write_config();
        n.run();
        n
    }

    /// Plain HTTP on each address at `port`.
    pub fn http(addrs: &[String], port: u16) -> Nginx {
        Nginx::start(NginxSpec {
            http: addrs.iter().map(|a| format!("{a}:{port}")).collect(),
            https: vec![],
            netns: None,
        })
    }

    /// The CA (self-signed certificate) of the HTTPS listeners.
    pub fn cert_path(&self) -> PathBuf {
        self.dir.join("cert.pem")
    }

    pub fn access_log(&self) -> PathBuf {
        self.dir.join("access.log")
    }

    /// Lines in the access log so far.
    pub fn access_count(&self) -> usize {
        std::fs::read_to_string(self.access_log()).map(|s| s.lines().count()).unwrap_or(0)
    }

    /// Stops nginx and waits for the process to exit.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts nginx again with the same configuration.
    pub fn restart(&mut self) {
        self.stop();
        self.run();
    }

    /// A throw-away CA (`cert.pem`, what `ca-file` points at) and a server
    /// certificate signed by it for `maglev-test` and every HTTPS address.
    fn make_cert(&self) {
        let mut san = String::from("subjectAltName=DNS:maglev-test");
        for l in &self.spec.https {
            if let Some((addr, _)) = l.rsplit_once(':') {
                san.push_str(&format!(",IP:{}", addr.trim_matches(|c| c == '[' || c == ']')));
            }
        }
        let d = self.dir.path();
        self.dir.write(
            "server.ext",
            &format!("{san}\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n"),
        );
        let steps: [Vec<String>; 3] = [
            vec![
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=maglev-test-ca",
            ]
            .into_iter()
            .map(String::from)
            .chain([
                "-keyout".into(),
                format!("{}/ca.key", d.display()),
                "-out".into(),
                format!("{}/cert.pem", d.display()),
            ])
            .collect(),
            vec!["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=maglev-test"]
                .into_iter()
                .map(String::from)
                .chain([
                    "-keyout".into(),
                    format!("{}/key.pem", d.display()),
                    "-out".into(),
                    format!("{}/server.csr", d.display()),
                ])
                .collect(),
            vec!["x509", "-req", "-days", "2", "-set_serial", "2"]
                .into_iter()
                .map(String::from)
                .chain([
                    "-in".into(),
                    format!("{}/server.csr", d.display()),
                    "-CA".into(),
                    format!("{}/cert.pem", d.display()),
                    "-CAkey".into(),
                    format!("{}/ca.key", d.display()),
                    "-extfile".into(),
                    format!("{}/server.ext", d.display()),
                    "-out".into(),
                    format!("{}/server.pem", d.display()),
                ])
                .collect(),
        ];
        for args in steps {
            let out =
                Command::new("openssl").args(&args).output().expect("run openssl (Debian package openssl)");
            assert!(out.status.success(), "openssl {}: {}", args[0], String::from_utf8_lossy(&out.stderr));
        }
    }

    fn write_config(&self) {
        let d = self.dir.path().display().to_string();
        let mut servers = String::new();
        for l in &self.spec.http {
            servers.push_str(&format!(
                "  server {{ listen {l}; location / {{ return 200 \"OK\\n\"; }} \
                 location /healthz {{ return 200 \"healthy\\n\"; }} \
                 location /fail {{ return 503 \"down\\n\"; }} }}\n"
            ));
        }
        for l in &self.spec.https {
            servers.push_str(&format!(
                "  server {{ listen {l} ssl; ssl_certificate {d}/server.pem; ssl_certificate_key {d}/key.pem; \
                 location / {{ return 200 \"OK\\n\"; }} }}\n"
            ));
        }
        let conf = format!(
            "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
             events {{ worker_connections 256; }}\n\
             http {{\n  access_log {d}/access.log;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
             fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n{servers}}}\n"
        );
        self.dir.write("nginx.conf", &conf);
    }

    fn run(&mut self) {
        let conf = self.dir.join("nginx.conf");
        let mut cmd = match &self.spec.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, "nginx"]);
                c
            }
            None => Command::new("nginx"),
        };
        cmd.arg("-c").arg(&conf).arg("-p").arg(self.dir.path()).arg("-e").arg(self.dir.join("error.log"));
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nginx (Debian package nginx-light)");
        self.child = Some(child);
        if self.spec.netns.is_none() {
            let listeners: Vec<String> = self.spec.http.iter().chain(&self.spec.https).cloned().collect();
            for l in listeners {
                self.wait_listening(&l);
            }
        } else {
            self.wait_pid_file();
        }
    }

    fn wait_listening(&mut self, addr: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if std::net::TcpStream::connect(addr).is_ok() {
                return;
            }
            self.check_alive();
            assert!(
                Instant::now() < deadline,
                "nginx did not listen on {addr} within 10s: {}",
                self.error_log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn wait_pid_file(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.dir.join("nginx.pid").exists() {
            self.check_alive();
            assert!(Instant::now() < deadline, "nginx did not start within 10s: {}", self.error_log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn check_alive(&mut self) {
        if let Some(c) = self.child.as_mut() {
            if let Ok(Some(status)) = c.try_wait() {
                panic!("nginx exited ({status}): {}", self.error_log());
            }
        }
    }

    fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Convenience for namespaced instances.
pub fn in_netns(ns: &NetNs, http: &[&str]) -> Nginx {
    Nginx::start(NginxSpec {
        http: http.iter().map(|s| s.to_string()).collect(),
        https: vec![],
        netns: Some(ns.name.clone()),
    })
}
