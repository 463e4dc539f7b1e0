#!/usr/bin/python3
# Checks `seqmix-run --mixer hyena` (forward and --step) against a numpy transcription of
# safari's HyenaOperator.forward (order 3, random state_dict). Usage: hyena_safari_check.py path/to/seqmix-run
import numpy as np, json, struct, subprocess, sys
rng=np.random.default_rng(1)
d,T,N,Lm,W,F=16,40,3,48,3,8   # d_model, T, order, l_max, short width, filter width
E=3; inner=2; C=d*(N-1)
def lin(o,i,b=True):
    w=rng.uniform(-1,1,(o,i))/np.sqrt(i); return (w, rng.uniform(-1,1,o)/np.sqrt(i)) if b else (w,None)
sd={}
sd['in_proj.weight'],sd['in_proj.bias']=lin((N+1)*d,d)
sd['short_filter.weight']=rng.uniform(-.5,.5,((N+1)*d,1,W)); sd['short_filter.bias']=rng.uniform(-.5,.5,(N+1)*d)
sd['out_proj.weight'],sd['out_proj.bias']=lin(d,d)
sd['filter_fn.bias']=rng.standard_normal(C)
t=np.linspace(0,1,Lm)[None,:,None]; bands=(E-1)//2
tr=np.linspace(0,Lm-1,Lm)[None,:,None]; w=2*np.pi*tr/Lm; f=np.linspace(1e-4,bands-1,bands)[None,None]
z=np.exp(-1j*f*w); sd['filter_fn.pos_emb.z']=np.concatenate([t,z.real,z.imag],-1); sd['filter_fn.pos_emb.t']=t
sd['filter_fn.implicit_filter.0.weight'],sd['filter_fn.implicit_filter.0.bias']=lin(F,E)
freq=rng.uniform(0.5,2,(1,F))
for k in range(inner+1): sd[f'filter_fn.implicit_filter.{2*k+1}.freq']=freq
for k in range(inner): sd[f'filter_fn.implicit_filter.{2*k+2}.weight'],sd[f'filter_fn.implicit_filter.{2*k+2}.bias']=lin(F,F)
sd[f'filter_fn.implicit_filter.{2*inner+2}.weight']=lin(C,F,False)[0]
sd['filter_fn.modulation.deltas']=np.linspace(np.log(1e-2)/1.5,np.log(1e-2)/0.3,C)[None,None]
x=rng.standard_normal((2,T,d))
# safari forward (numpy)
def forward(x):
    u=x@sd['in_proj.weight'].T+sd['in_proj.bias']            # b l D
    ut=u.transpose(0,2,1)                                     # b D l
    wt=sd['short_filter.weight'][:,0,:]; uc=np.zeros_like(ut)
    for k in range(W):
        s=k-(W-1)
        sh=np.zeros_like(ut); sh[:,:,max(0,-s):]=ut[:,:,:T-max(0,-s)] if -s>0 else ut
        uc+=wt[None,:,k,None]*sh
    uc+=sd['short_filter.bias'][None,:,None]
    xs=[uc[:,i*d:(i+1)*d] for i in range(N+1)]; v=xs[-1]; xs=xs[:-1]
    zz=sd['filter_fn.pos_emb.z'][0,:T]; tt=sd['filter_fn.pos_emb.t'][0,:T]
    a=np.sin(freq*(zz@sd['filter_fn.implicit_filter.0.weight'].T+sd['filter_fn.implicit_filter.0.bias']))
    for k in range(inner): a=np.sin(freq*(a@sd[f'filter_fn.implicit_filter.{2*k+2}.weight'].T+sd[f'filter_fn.implicit_filter.{2*k+2}.bias']))
    h=a@sd[f'filter_fn.implicit_filter.{2*inner+2}.weight'].T   # l C
    h=h*np.exp(-tt*np.abs(sd['filter_fn.modulation.deltas'][0]))
    k_=h.T.reshape(d,N-1,T).transpose(1,0,2)                 # o v l  ('c l (v o) -> c o v l')
    bias=sd['filter_fn.bias'].reshape(d,N-1).T
    for o,xi in enumerate(reversed(xs[1:])):
        v=v*xi
        fs=2*T; y=np.fft.irfft(np.fft.rfft(v,n=fs)*np.fft.rfft(k_[o],n=fs),n=fs)[...,:T]
        v=y+v*bias[o][None,:,None]
    y=(v*xs[0]).transpose(0,2,1)
    return y@sd['out_proj.weight'].T+sd['out_proj.bias']
ref=forward(x)
def save(path,tensors,meta):
    hdr={};off=0;blobs=[]
    for k,v in tensors.items():
        v=np.ascontiguousarray(v.astype(np.float32));b=v.tobytes()
        hdr[k]={"dtype":"F32","shape":list(v.shape),"data_offsets":[off,off+len(b)]};off+=len(b);blobs.append(b)
    hdr["__metadata__"]=meta;h=json.dumps(hdr).encode();h+=b' '*((8-len(h)%8)%8)
    open(path,'wb').write(struct.pack('<Q',len(h))+h+b''.join(blobs))
def load(path,name):
    b=open(path,'rb').read();n=struct.unpack('<Q',b[:8])[0];h=json.loads(b[8:8+n]);m=h[name];s,e=m['data_offsets']
    return np.frombuffer(b[8+n+s:8+n+e],dtype=np.float32).reshape(m['shape'])
save('/tmp/seqmix_hyena_in.safetensors',dict(x=x,**sd),{"d_model":str(d),"l_max":str(Lm),"order":str(N),"filter_order":str(F)})
for extra in [[],['--step']]:
    r=subprocess.run([sys.argv[1],'--mixer','hyena','/tmp/seqmix_hyena_in.safetensors','/tmp/seqmix_hyena_out.safetensors']+extra,capture_output=True,text=True)
    print(extra, 'rc',r.returncode,r.stderr.strip())
    y=load('/tmp/seqmix_hyena_out.safetensors','y'); print(' max rel err', np.abs(y-ref).max()/np.abs(ref).max())
