// sockdiag-probe: what exact lookups and destroy events cost the kernel (issue 13; design/ARCHITECTURE.md,
// "Known sockets"). Each run unshares a fresh network namespace (the host's shared TCP table, unless
// net.ipv4.tcp_child_ehash_entries is set), opens loopback connections there and measures from one thread
// (getrusage RUSAGE_THREAD: kernel CPU of that thread, not inflated by other load). Changes no sysctl.
//
//   gcc -O2 -o /tmp/sockdiag-probe bench/probes/sockdiag-probe.c && sudo /tmp/sockdiag-probe lookup 400 64 200
//
//   lookup NCONN BATCH REPS [RCVBUF]  NCONN connections (2 x NCONN sockets, half IPv4, half IPv6); a v2 AF_INET dump's
//                                     kernel CPU, then every socket looked up by exact request (full sockid +
//                                     cookie) in sendmsgs of BATCH lookups, REPS times: kernel/user CPU per lookup
//   rmem NCONN BATCH [RCVBUFFORCE]    BATCH lookups in one sendmsg, nothing read: the receive-buffer bytes their
//                                     replies hold (skb truesize), drops (SO_MEMINFO) and ENOBUFS past the buffer
//   destroy NCONN [RCVBUFFORCE]       a socket joined to both TCP destroy groups; NCONN connections closed at once,
//                                     drained every 10 ms: events received vs 2 x NCONN, drops, peak queue
//   destroysize NCONN                 truesize and datagram size of one destroy event
//   counters                          one connection (1,000 bytes up, 500 down, graceful close): its two destroy
//                                     events' attributes and tcpi_bytes_acked / tcpi_bytes_received
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <sched.h>
#include <fcntl.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/ioctl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/tcp.h>
#include <linux/rtnetlink.h>
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/inet_diag.h>
#include <sys/stat.h>

#ifndef SO_MEMINFO
#define SO_MEMINFO 55
#endif
static double thread_sys_us(void){struct rusage r;getrusage(RUSAGE_THREAD,&r);return r.ru_stime.tv_sec*1e6+r.ru_stime.tv_usec;}
static double thread_usr_us(void){struct rusage r;getrusage(RUSAGE_THREAD,&r);return r.ru_utime.tv_sec*1e6+r.ru_utime.tv_usec;}
static double now_us(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1e6+t.tv_nsec/1e3;}

static void lo_up(void){int s=socket(AF_INET,SOCK_DGRAM,0);struct ifreq r;memset(&r,0,sizeof r);strcpy(r.ifr_name,"lo");ioctl(s,SIOCGIFFLAGS,&r);r.ifr_flags|=IFF_UP;ioctl(s,SIOCSIFFLAGS,&r);close(s);}
static int nl_open(void){int s=socket(AF_NETLINK,SOCK_RAW|SOCK_CLOEXEC,NETLINK_SOCK_DIAG);struct sockaddr_nl a={.nl_family=AF_NETLINK};if(bind(s,(void*)&a,sizeof a)){perror("bind");exit(1);}return s;}
static unsigned drops(int s){unsigned m[16]={0};socklen_t l=sizeof m;getsockopt(s,SOL_SOCKET,SO_MEMINFO,m,&l);return m[8];}
static unsigned rmem(int s){unsigned m[16]={0};socklen_t l=sizeof m;getsockopt(s,SOL_SOCKET,SO_MEMINFO,m,&l);return m[0];}
static unsigned rcvbuf(int s){unsigned m[16]={0};socklen_t l=sizeof m;getsockopt(s,SOL_SOCKET,SO_MEMINFO,m,&l);return m[1];}

struct req { struct nlmsghdr h; struct inet_diag_req_v2 r; };
static struct inet_diag_sockid ids[200000]; static unsigned char fams[200000]; static int nids;
static unsigned char buf[1<<20];

static int dump_collect(int s, int family, unsigned ext, int collect){
  struct req q; memset(&q,0,sizeof q); q.h.nlmsg_len=sizeof q; q.h.nlmsg_type=SOCK_DIAG_BY_FAMILY; q.h.nlmsg_flags=NLM_F_REQUEST|NLM_F_DUMP; q.h.nlmsg_seq=1;
  q.r.sdiag_family=family; q.r.sdiag_protocol=IPPROTO_TCP; q.r.idiag_ext=ext; q.r.idiag_states=0x1FFF;
  send(s,&q,sizeof q,0); int n_s=0;
  for(;;){ int n=recv(s,buf,sizeof buf,0); if(n<0){perror("recv");exit(1);} 
    for(struct nlmsghdr*h=(void*)buf;NLMSG_OK(h,n);h=NLMSG_NEXT(h,n)){ if(h->nlmsg_type==NLMSG_DONE) return n_s; if(h->nlmsg_type==NLMSG_ERROR){fprintf(stderr,"dump err\n");return n_s;}
      struct inet_diag_msg*m=NLMSG_DATA(h); n_s++; if(collect && m->idiag_state!=10 /* TCP_LISTEN */){ids[nids]=m->id;fams[nids]=m->idiag_family;nids++;} } }
}
static void make_conns(int n, int v6, int **fds_out){
  int l= socket(v6?AF_INET6:AF_INET,SOCK_STREAM,0); int one=1; setsockopt(l,SOL_SOCKET,SO_REUSEADDR,&one,sizeof one);
  struct sockaddr_storage ss; memset(&ss,0,sizeof ss); socklen_t sl;
  if(v6){struct sockaddr_in6*a=(void*)&ss;a->sin6_family=AF_INET6;a->sin6_addr=in6addr_loopback;sl=sizeof *a;} else {struct sockaddr_in*a=(void*)&ss;a->sin_family=AF_INET;a->sin_addr.s_addr=htonl(INADDR_LOOPBACK);sl=sizeof *a;}
  bind(l,(void*)&ss,sl); listen(l,4096); getsockname(l,(void*)&ss,&sl);
  int *fds=malloc(sizeof(int)*(2*n+1)); fds[0]=l;
  for(int i=0;i<n;i++){ int c=socket(v6?AF_INET6:AF_INET,SOCK_STREAM,0); if(connect(c,(void*)&ss,sl)){perror("connect");exit(1);} int a=accept(l,0,0); fds[1+2*i]=c; fds[2+2*i]=a; }
  *fds_out=fds;
}
static int send_lookups(int s, int start, int count, unsigned ext, unsigned seq0){
  static struct req qs[100000]; memset(qs,0,sizeof(struct req)*count);
  for(int i=0;i<count;i++){ struct req*q=&qs[i]; q->h.nlmsg_len=sizeof *q; q->h.nlmsg_type=SOCK_DIAG_BY_FAMILY; q->h.nlmsg_flags=NLM_F_REQUEST; q->h.nlmsg_seq=seq0+i;
    q->r.sdiag_family=fams[start+i]; q->r.sdiag_protocol=IPPROTO_TCP; q->r.idiag_ext=ext; q->r.idiag_states=0x3FFF; q->r.id=ids[start+i]; }
  return send(s,qs,sizeof(struct req)*count,0);
}
static int drain(int s, int *msgs, int *errs, long *bytes){ int got=0; for(;;){int n=recv(s,buf,sizeof buf,MSG_DONTWAIT); if(n<0){ if(errno==EAGAIN) return got; return -errno;} got++; *bytes+=n; for(struct nlmsghdr*h=(void*)buf;NLMSG_OK(h,n);h=NLMSG_NEXT(h,n)){ if(h->nlmsg_type==NLMSG_ERROR) (*errs)++; else (*msgs)++; } } }

int main(int argc, char**argv){
  if(argc<2){fprintf(stderr,"usage\n");return 2;}
  struct rlimit rl={100000,100000}; setrlimit(RLIMIT_NOFILE,&rl);
  if(unshare(CLONE_NEWNET)){perror("unshare");return 1;} lo_up();
  unsigned ext = 0xFE;
  if(!strcmp(argv[1],"lookup")){ // lookup NCONN BATCH REPS [rcvbuf]
    int nconn=atoi(argv[2]), batch=atoi(argv[3]), reps=atoi(argv[4]); int *f1,*f2; make_conns(nconn/2,0,&f1); make_conns(nconn-nconn/2,1,&f2);
    int s=nl_open(); if(argc>5){int v=atoi(argv[5]); setsockopt(s,SOL_SOCKET,SO_RCVBUFFORCE,&v,sizeof v);} 
    nids=0; dump_collect(s,AF_INET,ext,1); dump_collect(s,AF_INET6,ext,1);
    // dump cost
    double t0=thread_sys_us(); for(int r=0;r<reps;r++){ int k=dump_collect(s,AF_INET,ext,0); (void)k;} double dsys=(thread_sys_us()-t0)/reps;
    int msgs=0,errs=0; long bytes=0; double u0=thread_usr_us(); t0=thread_sys_us(); int fail=0;
    for(int r=0;r<reps;r++){ for(int st=0;st<nids;st+=batch){ int c= nids-st<batch?nids-st:batch; if(send_lookups(s,st,c,ext,1000)<0){perror("send");} int d=drain(s,&msgs,&errs,&bytes); if(d<0){fail++;} } }
    double sys=(thread_sys_us()-t0), usr=thread_usr_us()-u0;
    printf("sockets=%d batch=%d reps=%d: v4 dump sys %.1f us/dump; lookups: sys %.2f us/lookup usr %.2f us/lookup, replies %d errs %d avg %ld B, enobufs %d rcvbuf %u\n", nids,batch,reps,dsys, sys/(reps*(double)nids), usr/(reps*(double)nids), msgs, errs, msgs?bytes/msgs:0, fail, rcvbuf(s));
  } else if(!strcmp(argv[1],"rmem")){ // rmem NCONN BATCH [rcvbufforce]
    int nconn=atoi(argv[2]), batch=atoi(argv[3]); int *f1,*f2; make_conns(nconn/2,0,&f1); make_conns(nconn-nconn/2,1,&f2);
    int s=nl_open(); if(argc>4){int v=atoi(argv[4]); if(setsockopt(s,SOL_SOCKET,SO_RCVBUFFORCE,&v,sizeof v))perror("rcvbufforce");}
    nids=0; dump_collect(s,AF_INET,ext,1); dump_collect(s,AF_INET6,ext,1);
    if(batch>nids) batch=nids; unsigned d0=drops(s);
    send_lookups(s,0,batch,ext,1000); unsigned rm=rmem(s); unsigned dr=drops(s)-d0;
    int msgs=0,errs=0; long bytes=0; int d=drain(s,&msgs,&errs,&bytes); int enobufs = d<0; if(enobufs){ d=drain(s,&msgs,&errs,&bytes);} 
    printf("batch=%d rcvbuf=%u rmem after send=%u (%.0f B/reply) drops=%u enobufs=%d replies=%d errs=%d avg reply %ld B\n", batch, rcvbuf(s), rm, (double)rm/batch, dr, enobufs, msgs, errs, msgs?bytes/msgs:0);
  } else if(!strcmp(argv[1],"destroy")){ // destroy NCONN [rcvbufforce] [delay_us_between_closes]
    int nconn=atoi(argv[2]); int s=socket(AF_NETLINK,SOCK_RAW|SOCK_CLOEXEC|SOCK_NONBLOCK,NETLINK_SOCK_DIAG); struct sockaddr_nl a={.nl_family=AF_NETLINK}; bind(s,(void*)&a,sizeof a);
    if(argc>3){int v=atoi(argv[3]); if(v && setsockopt(s,SOL_SOCKET,SO_RCVBUFFORCE,&v,sizeof v))perror("rcvbufforce");}
    int g=SKNLGRP_INET_TCP_DESTROY; if(setsockopt(s,270,NETLINK_ADD_MEMBERSHIP,&g,sizeof g))perror("add1"); g=SKNLGRP_INET6_TCP_DESTROY; if(setsockopt(s,270,NETLINK_ADD_MEMBERSHIP,&g,sizeof g))perror("add3");
    int *f1,*f2; make_conns(nconn/2,0,&f1); make_conns(nconn-nconn/2,1,&f2);
    // write 1000 bytes client->server on each
    char data[1000]; memset(data,'x',sizeof data);
    for(int i=0;i<nconn/2;i++){ write(f1[1+2*i],data,1000); read(f1[2+2*i],buf,1000);} 
    double t0=now_us();
    int msgs=0,errs=0; long bytes=0; int lost_err=0; unsigned maxrm=0;
    for(int i=0;i<nconn/2;i++){ close(f1[1+2*i]); close(f1[2+2*i]); }
    for(int i=0;i<nconn-nconn/2;i++){ close(f2[1+2*i]); close(f2[2+2*i]); }
    double tc=now_us();
    for(int k=0;k<300;k++){ unsigned rm=rmem(s); if(rm>maxrm)maxrm=rm; int d=drain(s,&msgs,&errs,&bytes); if(d<0) lost_err++; usleep(10000);} 
    printf("closed %d conns in %.1f ms: destroy msgs %d (expected %d) avg %ld B, enobufs %d drops %u rcvbuf %u max rmem %u\n", nconn, (tc-t0)/1000, msgs, 2*nconn, msgs?bytes/msgs:0, lost_err, drops(s), rcvbuf(s), maxrm);
  } else if(!strcmp(argv[1],"counters")){
    int s=socket(AF_NETLINK,SOCK_RAW|SOCK_NONBLOCK,NETLINK_SOCK_DIAG); struct sockaddr_nl a={.nl_family=AF_NETLINK}; bind(s,(void*)&a,sizeof a);
    int g=SKNLGRP_INET_TCP_DESTROY; setsockopt(s,270,NETLINK_ADD_MEMBERSHIP,&g,sizeof g); g=SKNLGRP_INET6_TCP_DESTROY; setsockopt(s,270,NETLINK_ADD_MEMBERSHIP,&g,sizeof g);
    int *f; make_conns(1,0,&f); int c=f[1], sv=f[2]; char data[1000]; memset(data,'x',sizeof data);
    write(c,data,1000); int got=0; while(got<1000) got+=read(sv,buf+got,1000-got); write(sv,data,500); got=0; while(got<500) got+=read(c,buf+got,500-got);
    close(c); read(sv,buf,10); close(sv); usleep(300000);
    int n;
    while((n=recv(s,buf,sizeof buf,0))>0){ struct nlmsghdr*h=(void*)buf; struct inet_diag_msg*d=NLMSG_DATA(h); int len=h->nlmsg_len-NLMSG_LENGTH(sizeof *d); struct rtattr*at=(void*)(d+1);
      printf("state %d sport %d dport %d attributes:", d->idiag_state, ntohs(d->id.idiag_sport), ntohs(d->id.idiag_dport));
      for(;RTA_OK(at,len);at=RTA_NEXT(at,len)){ printf(" %d(%d B)",at->rta_type,(int)RTA_PAYLOAD(at)); if(at->rta_type==INET_DIAG_INFO){struct tcp_info*ti=RTA_DATA(at); printf(" [bytes_acked %llu bytes_received %llu bytes_sent %llu]",(unsigned long long)ti->tcpi_bytes_acked,(unsigned long long)ti->tcpi_bytes_received,(unsigned long long)ti->tcpi_bytes_sent);} }
      printf("\n"); }
  } else if(!strcmp(argv[1],"destroysize")){ // per-event truesize: join, close n conns, don't read, then rmem
    int nconn=atoi(argv[2]); int s=socket(AF_NETLINK,SOCK_RAW|SOCK_CLOEXEC|SOCK_NONBLOCK,NETLINK_SOCK_DIAG); struct sockaddr_nl a={.nl_family=AF_NETLINK}; bind(s,(void*)&a,sizeof a);
    int v=8<<20; setsockopt(s,SOL_SOCKET,SO_RCVBUFFORCE,&v,sizeof v);
    int g=1; setsockopt(s,270,NETLINK_ADD_MEMBERSHIP,&g,sizeof g); g=3; setsockopt(s,270,NETLINK_ADD_MEMBERSHIP,&g,sizeof g);
    int *f1; make_conns(nconn,0,&f1); for(int i=0;i<nconn;i++){close(f1[1+2*i]);close(f1[2+2*i]);}
    usleep(500000); unsigned rm=rmem(s); int msgs=0,errs=0; long bytes=0; drain(s,&msgs,&errs,&bytes);
    printf("destroy events %d, rmem %u => %.0f B truesize each, avg datagram %ld B\n", msgs, rm, (double)rm/msgs, msgs?bytes/msgs:0);
  }
  return 0;
}
