/*
 * chio: drives the Linux `ch` (SCSI media changer) driver through its
 * ioctls, for the QEMU guest of hwtests/vm. Debian ships no chio tool;
 * this is the smallest program that lets the guest move a cartridge with
 * the kernel driver (not with SG_IO, which mtx and reelctl already use).
 *
 *   chio DEV params                   counts of pickers/slots/portals/drives
 *   chio DEV status TYPE              one line per element of TYPE (CHIOGSTATUS)
 *   chio DEV elem TYPE UNIT           one element in detail (CHIOGELEM)
 *   chio DEV move TYPE UNIT TYPE UNIT CHIOMOVE
 *
 * TYPE is slot, drive, portal or picker; UNIT counts from 0 within its
 * type, as the driver numbers them. Exit status 0 on success, 1 on an
 * ioctl error (printed with errno), 2 on bad usage.
 *
 * Built static (gcc -static) so the guest needs no libc for it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/chio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static const char *type_names[] = {"picker", "slot", "portal", "drive"};

static int parse_type(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, type_names[i]) == 0)
			return i;
	fprintf(stderr, "chio: unknown element type %s\n", s);
	exit(2);
}

static int parse_unit(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < 0 || v > 65535) {
		fprintf(stderr, "chio: bad unit %s\n", s);
		exit(2);
	}
	return (int)v;
}

static int count_of(int fd, int type)
{
	struct changer_params p;
	memset(&p, 0, sizeof p);
	if (ioctl(fd, CHIOGPARAMS, &p) < 0) {
		perror("chio: CHIOGPARAMS");
		exit(1);
	}
	switch (type) {
	case CHET_MT: return p.cp_npickers;
	case CHET_ST: return p.cp_nslots;
	case CHET_IE: return p.cp_nportals;
	default: return p.cp_ndrives;
	}
}

/* The volume tag without its trailing blanks (SMC pads it with spaces). */
static void trim(char *tag, size_t len)
{
	tag[len - 1] = '\0';
	for (size_t i = strlen(tag); i > 0 && (tag[i - 1] == ' ' || tag[i - 1] == '\0'); i--)
		tag[i - 1] = '\0';
}

static int cmd_params(int fd)
{
	struct changer_params p;
	memset(&p, 0, sizeof p);
	if (ioctl(fd, CHIOGPARAMS, &p) < 0) {
		perror("chio: CHIOGPARAMS");
		return 1;
	}
	printf("pickers %d slots %d portals %d drives %d\n", p.cp_npickers, p.cp_nslots,
	       p.cp_nportals, p.cp_ndrives);
	return 0;
}

static int cmd_status(int fd, int type)
{
	int n = count_of(fd, type);
	unsigned char *data = calloc((size_t)n + 1, 1);
	if (data == NULL)
		return 1;
	struct changer_element_status st = {.ces_type = type, .ces_data = data};
	if (ioctl(fd, CHIOGSTATUS, &st) < 0) {
		perror("chio: CHIOGSTATUS");
		free(data);
		return 1;
	}
	for (int i = 0; i < n; i++)
		printf("%s %d %s\n", type_names[type], i,
		       (data[i] & CESTATUS_FULL) ? "full" : "empty");
	free(data);
	return 0;
}

static int cmd_elem(int fd, int type, int unit)
{
	struct changer_get_element e;
	memset(&e, 0, sizeof e);
	e.cge_type = type;
	e.cge_unit = unit;
	if (ioctl(fd, CHIOGELEM, &e) < 0) {
		perror("chio: CHIOGELEM");
		return 1;
	}
	trim(e.cge_pvoltag, sizeof e.cge_pvoltag);
	printf("%s %d %s", type_names[type], unit,
	       (e.cge_status & CESTATUS_FULL) ? "full" : "empty");
	if (e.cge_flags & CGE_PVOLTAG)
		printf(" voltag=%s", e.cge_pvoltag);
	if ((e.cge_flags & CGE_SRC) && e.cge_srctype >= 0 && e.cge_srctype < 4)
		printf(" source=%s:%d", type_names[e.cge_srctype], e.cge_srcunit);
	printf("\n");
	return 0;
}

static int cmd_move(int fd, int ft, int fu, int tt, int tu)
{
	struct changer_move m;
	memset(&m, 0, sizeof m);
	m.cm_fromtype = ft;
	m.cm_fromunit = fu;
	m.cm_totype = tt;
	m.cm_tounit = tu;
	if (ioctl(fd, CHIOMOVE, &m) < 0) {
		fprintf(stderr, "chio: CHIOMOVE %s %d -> %s %d: %s\n", type_names[ft], fu,
			type_names[tt], tu, strerror(errno));
		return 1;
	}
	printf("moved %s %d -> %s %d\n", type_names[ft], fu, type_names[tt], tu);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: chio DEV params|status TYPE|elem TYPE UNIT|move TYPE UNIT TYPE UNIT\n");
		return 2;
	}
	int fd = open(argv[1], O_RDWR);
	if (fd < 0) {
		fprintf(stderr, "chio: open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	const char *cmd = argv[2];
	int rc = 2;
	if (strcmp(cmd, "params") == 0 && argc == 3)
		rc = cmd_params(fd);
	else if (strcmp(cmd, "status") == 0 && argc == 4)
		rc = cmd_status(fd, parse_type(argv[3]));
	else if (strcmp(cmd, "elem") == 0 && argc == 5)
		rc = cmd_elem(fd, parse_type(argv[3]), parse_unit(argv[4]));
	else if (strcmp(cmd, "move") == 0 && argc == 7)
		rc = cmd_move(fd, parse_type(argv[3]), parse_unit(argv[4]), parse_type(argv[5]),
			      parse_unit(argv[6]));
	else
		fprintf(stderr, "chio: bad arguments\n");
	close(fd);
	return rc;
}
