//! Directory sign-in against a real directory: Debian's OpenLDAP `slapd`,
//! started here on a loopback port with a test tree of people and groups,
//! StartTLS with a certificate made for the run, and its password policy
//! overlay (a locked account is refused by the directory itself). The
//! server is given a directory file (`serve --directory FILE`) and people
//! sign in over the API and on the web pages.

use crate::common::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SUFFIX: &str = "dc=cd00,dc=fr";
const ROOT_DN: &str = "cn=admin,dc=cd00,dc=fr";
const ROOT_PASSWORD: &str = "racine-de-test";
const SERVICE_DN: &str = "cn=coffre,ou=services,dc=cd00,dc=fr";
const SERVICE_PASSWORD: &str = "compte-de-service-coffre";
const FINANCES: &str = "cn=coffre-finances,ou=groupes,dc=cd00,dc=fr";
const ARCHIVES: &str = "cn=coffre-archives,ou=groupes,dc=cd00,dc=fr";

fn sbin(name: &str) -> PathBuf {
    let path = Path::new("/usr/sbin").join(name);
    assert!(
        path.exists(),
        "{} is missing: `make deps` installs Debian's slapd for these tests",
        path.display()
    );
    path
}

/// A slapd of this test's own, killed when dropped.
struct Slapd {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn person(uid: &str, name: &str, password: &str, locked: bool) -> String {
    let surname = name.split(' ').next_back().unwrap_or(name);
    let lock = if locked {
        // Locked for good by the password policy (OpenLDAP's "disabled").
        "pwdAccountLockedTime: 000001010000Z\n"
    } else {
        ""
    };
    format!(
        "dn: uid={uid},ou=personnes,{SUFFIX}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {name}\nsn: {surname}\n\
         displayName: {name}\nuserPassword: {password}\n{lock}\n"
    )
}

fn group(dn: &str, members: &[&str]) -> String {
    let cn = dn.split(',').next().unwrap_or_default().trim_start_matches("cn=");
    let mut text = format!("dn: {dn}\nobjectClass: groupOfNames\ncn: {cn}\n");
    for uid in members {
        text.push_str(&format!("member: uid={uid},ou=personnes,{SUFFIX}\n"));
    }
    text.push('\n');
    text
}

impl Slapd {
    /// Builds the tree offline (slapadd) and starts slapd on a free port.
    fn start() -> Slapd {
        let dir = tempfile::tempdir().expect("a folder");
        let at = dir.path();
        std::fs::create_dir(at.join("db")).expect("db folder");
        // The département's CA (`ca.pem`, which coffre is told to trust)
        // and the directory's certificate, signed by it.
        localhost_certificate(at);
        let conf = format!(
            "include /etc/ldap/schema/core.schema\n\
             include /etc/ldap/schema/cosine.schema\n\
             include /etc/ldap/schema/inetorgperson.schema\n\
             modulepath /usr/lib/ldap\n\
             moduleload back_mdb\n\
             moduleload ppolicy\n\
             pidfile {at}/slapd.pid\n\
             TLSCertificateFile {at}/server.pem\n\
             TLSCertificateKeyFile {at}/server.key\n\
             security simple_bind=128\n\
             database mdb\n\
             maxsize 10485760\n\
             suffix \"{SUFFIX}\"\n\
             rootdn \"{ROOT_DN}\"\n\
             rootpw {ROOT_PASSWORD}\n\
             directory {at}/db\n\
             overlay ppolicy\n\
             ppolicy_default \"cn=defaut,ou=politiques,{SUFFIX}\"\n\
             access to attrs=userPassword by anonymous auth by self write by * none\n\
             access to * by users read by * none\n",
            at = at.display()
        );
        std::fs::write(at.join("slapd.conf"), conf).expect("slapd.conf");
        let mut tree = format!(
            "dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\no: Departement de test\ndc: cd00\n\n\
             dn: ou=personnes,{SUFFIX}\nobjectClass: organizationalUnit\nou: personnes\n\n\
             dn: ou=groupes,{SUFFIX}\nobjectClass: organizationalUnit\nou: groupes\n\n\
             dn: ou=services,{SUFFIX}\nobjectClass: organizationalUnit\nou: services\n\n\
             dn: ou=politiques,{SUFFIX}\nobjectClass: organizationalUnit\nou: politiques\n\n\
             dn: cn=defaut,ou=politiques,{SUFFIX}\nobjectClass: applicationProcess\nobjectClass: pwdPolicy\n\
             cn: defaut\npwdAttribute: userPassword\npwdLockout: TRUE\n\n\
             dn: {SERVICE_DN}\nobjectClass: applicationProcess\nobjectClass: simpleSecurityObject\ncn: coffre\n\
             userPassword: {SERVICE_PASSWORD}\n\n"
        );
        tree.push_str(&person("marie.dupont", "Marie Dupont", "mot-de-passe-de-marie", false));
        tree.push_str(&person("luc.martin", "Luc Martin", "mot-de-passe-de-luc", false));
        tree.push_str(&person("paul.bloque", "Paul Bloqué", "mot-de-passe-de-paul", true));
        tree.push_str(&person("jean.cantine", "Jean Cantine", "mot-de-passe-de-jean", false));
        tree.push_str(&group(FINANCES, &["marie.dupont", "paul.bloque"]));
        tree.push_str(&group(ARCHIVES, &["luc.martin"]));
        tree.push_str(&group(&format!("cn=cantine,ou=groupes,{SUFFIX}"), &["jean.cantine"]));
        std::fs::write(at.join("tree.ldif"), tree).expect("tree");
        let added = Command::new(sbin("slapadd"))
            .arg("-f")
            .arg(at.join("slapd.conf"))
            .arg("-l")
            .arg(at.join("tree.ldif"))
            .output()
            .expect("slapadd");
        assert!(
            added.status.success(),
            "slapadd: {}",
            String::from_utf8_lossy(&added.stderr)
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let log = std::fs::File::create(at.join("slapd.log")).expect("log");
        // `-d` keeps slapd in the foreground, a child of this test.
        let child = Command::new(sbin("slapd"))
            .arg("-f")
            .arg(at.join("slapd.conf"))
            .args(["-h", &format!("ldap://127.0.0.1:{port}/"), "-d", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn slapd");
        let slapd = Slapd { child, port, dir };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "slapd did not listen: {}",
                std::fs::read_to_string(slapd.dir.path().join("slapd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        slapd
    }

    /// The directory file coffre is given.
    fn directory_file(&self, recheck: &str) -> PathBuf {
        let at = self.dir.path();
        std::fs::write(at.join("service.secret"), format!("{SERVICE_PASSWORD}\n")).expect("secret");
        let text = format!(
            "url = \"ldap://127.0.0.1:{port}\"\n\
             ca_file = \"ca.pem\"\n\
             bind_dn = \"{SERVICE_DN}\"\n\
             bind_password_file = \"service.secret\"\n\
             base = \"ou=personnes,{SUFFIX}\"\n\
             user_filter = \"(&(objectClass=inetOrgPerson)(uid={{user}}))\"\n\
             group_base = \"ou=groupes,{SUFFIX}\"\n\
             group_filter = \"(&(objectClass=groupOfNames)(member={{dn}}))\"\n\
             recheck = \"{recheck}\"\n\
             \n\
             [[groups]]\n\
             dn = \"{ARCHIVES}\"\n\
             role = \"archivist\"\n\
             service = \"Archives départementales\"\n\
             \n\
             [[groups]]\n\
             dn = \"CN=Coffre-Finances, OU=Groupes, DC=cd00, DC=fr\"\n\
             role = \"agent\"\n\
             service = \"Direction des finances\"\n",
            port = self.port
        );
        let path = at.join("annuaire.toml");
        std::fs::write(&path, text).expect("directory file");
        path
    }

    /// Changes the tree as the directory's manager (ldapmodify's work,
    /// done with the same LDAP client coffre uses).
    fn modify(&self, dn: &str, change: ldap3::Mod<&str>) {
        // slapd takes simple binds over TLS only (`security simple_bind`).
        let settings = ldap3::LdapConnSettings::new()
            .set_conn_timeout(Duration::from_secs(5))
            .set_starttls(true)
            .set_no_tls_verify(true);
        let mut ldap = ldap3::LdapConn::with_settings(settings, &format!("ldap://127.0.0.1:{}", self.port))
            .expect("connect to slapd");
        ldap.simple_bind(ROOT_DN, ROOT_PASSWORD)
            .and_then(|r| r.success())
            .expect("bind as manager");
        ldap.modify(dn, vec![change]).and_then(|r| r.success()).expect("modify");
        let _ = ldap.unbind();
    }
}

/// Signs in over the API, waiting out the brake on failures (every
/// refusal here comes from one address) as its `Retry-After` says.
fn login_braked(server: &Server, user: &str, password: &str) -> Answer {
    loop {
        let a = login(server, user, password);
        if a.status != 429 {
            return a;
        }
        let wait: u64 = a
            .header("retry-after")
            .and_then(|s| s.parse().ok())
            .expect("Retry-After");
        std::thread::sleep(Duration::from_secs(wait));
    }
}

fn account(server: &Server, admin: &str, user: &str) -> Value {
    let all = get(&server.url("/api/v1/accounts"), admin).json();
    all.as_array()
        .expect("accounts")
        .iter()
        .find(|a| a["user"] == user)
        .cloned()
        .unwrap_or(Value::Null)
}

#[test]
fn directory_people_sign_in_with_their_groups_role_and_lose_it_with_the_group() {
    let slapd = Slapd::start();
    let fresh = fresh_archive();
    let file = slapd.directory_file("2s");
    let server = Server::start(&fresh.data, &["--directory", file.to_str().expect("path")]);
    let admin = &fresh.token;

    // Marie is in the finances group: an agent of the finances service.
    let marie = login(&server, "Marie.Dupont", "mot-de-passe-de-marie");
    assert_eq!(marie.status, 201, "{}", marie.text());
    assert_eq!(marie.json()["role"], "agent");
    let marie_token = marie.json()["token"].as_str().expect("token").to_owned();
    let listed = account(&server, admin, "marie.dupont");
    assert_eq!(listed["directory"], true, "{listed}");
    assert_eq!(listed["role"], "agent");
    assert_eq!(listed["display_name"], "Marie Dupont");
    assert_eq!(listed["service"], "Direction des finances");
    // Her deposits name her service unless she says another.
    let record = created(
        deposit(
            &server,
            &marie_token,
            b"Facture 2024-118 de la papeterie",
            "facture.txt",
            &json!({"node": "FIN-FAC", "date": "2024-03-15"}),
        )
        .expect("deposit"),
    );
    assert_eq!(record["service"], "Direction des finances", "{record}");
    // Luc is in the archives group: an archivist.
    let luc = login(&server, "luc.martin", "mot-de-passe-de-luc");
    assert_eq!((luc.status, luc.json()["role"].clone()), (201, json!("archivist")));

    // On the web pages too (before the failures below, which the brake
    // counts by address).
    let (status, session) = web_sign_in(&server, "marie.dupont", "mot-de-passe-de-marie");
    assert_eq!(status, 303);
    let session = session.expect("a session cookie");
    assert_eq!(page_status(&server, &session), 200);
    let me = ureq::get(&server.url("/mon-compte"))
        .set("Cookie", &session)
        .call()
        .expect("my account")
        .into_string()
        .expect("page");
    assert!(
        me.contains("compte de l'annuaire") && me.contains("Direction des finances"),
        "{me}"
    );
    assert!(!me.contains("Changer le mot de passe"), "{me}");
    let (status, refused) = web_sign_in(&server, "jean.cantine", "mot-de-passe-de-jean");
    assert_eq!((status, refused), (403, None));

    // Refused: a wrong password, a locked account, a name that is not
    // there, a filter's syntax typed as a name, and an empty password (an
    // unauthenticated bind that the directory would accept).
    for (user, password) in [
        ("marie.dupont", "pas-le-bon-mot-de-passe"),
        ("paul.bloque", "mot-de-passe-de-paul"),
        ("personne", "mot-de-passe-de-marie"),
        ("*", "mot-de-passe-de-marie"),
        ("marie.dupont", ""),
    ] {
        let a = login_braked(&server, user, password);
        assert_eq!(a.status, 401, "{user}: {}", a.text());
        assert_eq!(a.error_code(), "sign_in_failed", "{user}");
    }
    // Jean's password is right but no group of his gives access: he is
    // told to ask for it, and no account is opened for him.
    let jean = login_braked(&server, "jean.cantine", "mot-de-passe-de-jean");
    assert_eq!(
        (jean.status, jean.error_code()),
        (403, "not_granted".to_owned()),
        "{}",
        jean.text()
    );
    assert!(jean.error_message().contains("annuaire"), "{}", jean.text());
    assert_eq!(account(&server, admin, "jean.cantine"), Value::Null);
    assert_eq!(account(&server, admin, "paul.bloque"), Value::Null);
    // Marie leaves the finances group: within the recheck time (2 s here,
    // minutes in service) her session ends and her token stops.
    slapd.modify(
        FINANCES,
        ldap3::Mod::Delete(
            "member",
            std::collections::HashSet::from(["uid=marie.dupont,ou=personnes,dc=cd00,dc=fr"]),
        ),
    );
    let started = Instant::now();
    loop {
        let page = page_status(&server, &session);
        let api = get(&server.url("/api/v1/search?q=facture"), &marie_token).status;
        if page == 303 && api == 401 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "still in after leaving the group: page {page}, API {api}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let again = login_braked(&server, "marie.dupont", "mot-de-passe-de-marie");
    assert_eq!(again.status, 403, "{}", again.text());
    // Her account stays (its history names her); the journal says who
    // opened it and changed nothing else.
    assert_eq!(account(&server, admin, "marie.dupont")["disabled"], false);
    let events = get(&server.url("/api/v1/audit/events?after=0"), admin).json();
    let by_directory: Vec<&str> = events["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["actor"] == "directory")
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(by_directory, ["account.created", "account.created"], "{events}");

    // Back in the group, back in.
    slapd.modify(
        FINANCES,
        ldap3::Mod::Add(
            "member",
            std::collections::HashSet::from(["uid=marie.dupont,ou=personnes,dc=cd00,dc=fr"]),
        ),
    );
    assert_eq!(
        login_braked(&server, "marie.dupont", "mot-de-passe-de-marie").status,
        201
    );
    server.stop();
    assert_journal_follows_its_schema(&fresh.data);
}

#[test]
fn the_local_admin_still_signs_in_and_a_directory_down_is_said() {
    let slapd = Slapd::start();
    let fresh = fresh_archive();
    let file = slapd.directory_file("5m");
    let server = Server::start(&fresh.data, &["--directory", file.to_str().expect("path")]);
    let set = post_json(
        &server.url("/api/v1/accounts/admin/password"),
        &fresh.token,
        &json!({"password": "phrase de secours locale"}),
    );
    assert_eq!(set.status, 204, "{}", set.text());
    let marie = login(&server, "marie.dupont", "mot-de-passe-de-marie");
    assert_eq!(marie.status, 201, "{}", marie.text());
    let marie_token = marie.json()["token"].as_str().expect("token").to_owned();
    // A directory account's password is the directory's.
    let refused = post_json(
        &server.url("/api/v1/accounts/marie.dupont/password"),
        &fresh.token,
        &json!({"password": "un mot de passe local"}),
    );
    assert_eq!(refused.status, 422, "{}", refused.text());
    drop(slapd);
    // The directory is gone: its people cannot sign in, and are told why;
    // the local admin can; a person signed in keeps working meanwhile.
    let down = login(&server, "marie.dupont", "mot-de-passe-de-marie");
    assert_eq!(
        (down.status, down.error_code()),
        (503, "directory_unavailable".to_owned()),
        "{}",
        down.text()
    );
    assert_eq!(login(&server, "admin", "phrase de secours locale").status, 201);
    assert_eq!(get(&server.url("/api/v1/search?q=facture"), &marie_token).status, 200);
}

#[test]
fn a_directory_file_with_a_mistake_stops_the_server_with_its_reason() {
    let slapd = Slapd::start();
    let fresh = fresh_archive();
    let file = slapd.directory_file("5m");
    let text = std::fs::read_to_string(&file).expect("file");
    for (broken, said) in [
        (text.replace("role = \"agent\"", "role = \"chef\""), "groups[1].role"),
        (text.replace("ldap://", "http://"), "ldaps://"),
        (text.replace("(uid={user})", "(uid=marie)"), "user_filter"),
        (text.replace("service.secret", "absent.secret"), "bind_password_file"),
    ] {
        std::fs::write(&file, broken).expect("write");
        let out = Command::new(bin())
            .arg("--data")
            .arg(&fresh.data)
            .args(["serve", "--listen", "127.0.0.1:0", "--directory"])
            .arg(&file)
            .stdin(Stdio::null())
            .output()
            .expect("serve");
        assert_eq!(out.status.code(), Some(2), "{said}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(said), "{said}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
}
